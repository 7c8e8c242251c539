//! A payment that died between charging and recording (a crash) is settled, never charged twice.

use common::bson::{self, Document, doc, oid::ObjectId};
use common::events::{Outbox, Subject};
use common::testkit::{self, error_messages};
use payments::store::checkout::Checkout;
use payments::store::order_replica::OrderReplica;
use payments::stripe::Stripe;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

/// The order as a crashed payment left it: claimed two minutes ago with `tok_visa`, and charged
/// at Stripe (under the payment's idempotency key) without a payment record.
pub async fn crashed_mid_payment(app: &TestApp, user: ObjectId, price: f64) -> String {
    let order = app.replicated_order(user, price).await;
    let claimed_at = bson::DateTime::from_chrono(chrono::Utc::now() - chrono::Duration::minutes(2));
    app.db
        .collection::<Document>("orders")
        .update_one(
            doc! { "_id": ObjectId::parse_str(&order).unwrap() },
            doc! { "$set": { "claim": { "token": "tok_visa", "at": claimed_at } } },
        )
        .await
        .unwrap();
    let charge: Value = reqwest::Client::new()
        .post(format!("{}/v1/charges", testkit::stripe_api_base()))
        .bearer_auth(&app.stripe_key)
        .header("Idempotency-Key", format!("payment:{order}:tok_visa"))
        .form(&[
            ("amount", ((price * 100.0).round() as i64).to_string()),
            ("currency", "usd".into()),
            ("source", "tok_visa".into()),
            ("metadata[orderId]", order.clone()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        charge["id"].as_str().unwrap().starts_with("ch_"),
        "{charge}"
    );
    order
}

#[tokio::test]
async fn the_next_attempt_finds_the_earlier_charge_instead_of_charging_again() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = crashed_mid_payment(&app, user, 33.0).await;
    let (status, body) = app.pay(&order, "tok_mastercard", &cookie).await;
    assert_eq!(
        (status, error_messages(&body)),
        (400, vec!["Order is already paid".to_owned()])
    );
    let charges = app.charges_for(&[&order]).await;
    assert_eq!(charges.len(), 1);
    let stored = app.payment_of(&order).await.unwrap();
    assert_eq!(
        stored.get_str("stripeId").unwrap(),
        charges[0]["id"].as_str().unwrap()
    );
}

#[tokio::test]
async fn the_settler_records_a_payment_that_died_mid_way() {
    let app = spawn_app().await;
    let (user, _) = testkit::signed_in();
    let order = crashed_mid_payment(&app, user, 21.5).await;
    settle_stale_claims(&app).await;

    let charges = app.charges_for(&[&order]).await;
    assert_eq!(charges.len(), 1, "replayed, not charged again");
    let stored = app.payment_of(&order).await.unwrap();
    assert_eq!(
        stored.get_str("stripeId").unwrap(),
        charges[0]["id"].as_str().unwrap()
    );
    let replica = app.replica_where(&order, |_| true).await;
    assert_eq!(replica.get_str("status").unwrap(), "complete");
    assert!(replica.get("claim").is_none());
    // Announced like any payment (the running service's relay publishes it).
    let events = testkit::wait_for_events(&app.bus, Subject::PaymentCreated, 1).await;
    assert_eq!(events[0].payload["orderId"], order.as_str());
}

#[tokio::test]
async fn the_settler_finishes_a_payment_recorded_before_its_order_was_marked_paid() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 12.0).await;
    let (status, body) = app.pay(&order, "tok_visa", &cookie).await;
    assert_eq!(status, 201, "{body}");
    // As a payment leaves the replica when its database went away right after the record:
    // paid, but the order still awaiting payment under the payment's (now stale) claim.
    let claimed_at = bson::DateTime::from_chrono(chrono::Utc::now() - chrono::Duration::minutes(2));
    let id = ObjectId::parse_str(&order).unwrap();
    app.db
        .collection::<Document>("orders")
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "status": "awaiting:payment", "claim": { "token": "tok_visa", "at": claimed_at } } },
        )
        .await
        .unwrap();
    settle_stale_claims(&app).await;

    let replica = app.replica_where(&order, |_| true).await;
    assert_eq!(replica.get_str("status").unwrap(), "complete");
    assert!(replica.get("claim").is_none());
    assert_eq!(
        app.charges_for(&[&order]).await.len(),
        1,
        "not charged again"
    );
}

/// One pass of the settler, as the running service's background task makes it.
async fn settle_stale_claims(app: &TestApp) {
    let stripe = Stripe::new(&app.stripe_key, Some(&testkit::stripe_api_base())).unwrap();
    let checkout = Checkout::new(
        &app.db,
        OrderReplica::new(&app.db),
        stripe,
        Outbox::default(),
    );
    checkout.settle_stale_claims().await.unwrap();
}
