//! The orders service asks whether an order whose window passed is paid (`ClosePayment`): the
//! answer comes from the payments recorded here, and closes the order to payment.

use common::bson::{self, Document, doc, oid::ObjectId};
use common::events::{ClosePayment, PaymentState};
use common::testkit::{self, error_messages};

use crate::helpers::spawn_app;

fn close(order: &str) -> ClosePayment {
    ClosePayment {
        order_id: order.to_owned(),
    }
}

#[tokio::test]
async fn a_paid_order_is_answered_paid() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 12.0).await;
    assert_eq!(app.pay(&order, "tok_visa", &cookie).await.0, 201);
    assert_eq!(
        app.bus.ask(&close(&order)).await.unwrap(),
        PaymentState::Paid
    );
}

#[tokio::test]
async fn an_unpaid_order_is_closed_and_can_not_be_paid_any_more() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 12.0).await;
    assert_eq!(
        app.bus.ask(&close(&order)).await.unwrap(),
        PaymentState::Closed
    );
    let (status, body) = app.pay(&order, "tok_visa", &cookie).await;
    assert_eq!(
        (status, error_messages(&body)),
        (400, vec!["Cannot pay for a cancelled order".to_owned()])
    );
    assert!(app.charges_for(&[&order]).await.is_empty());
    // An order this replica never saw can not have been paid here.
    let unknown = ObjectId::new().to_hex();
    assert_eq!(
        app.bus.ask(&close(&unknown)).await.unwrap(),
        PaymentState::Closed
    );
}

#[tokio::test]
async fn a_payment_in_progress_is_waited_for() {
    let app = spawn_app().await;
    let (user, _) = testkit::signed_in();
    let order = app.replicated_order(user, 12.0).await;
    let claimed_now = bson::DateTime::now();
    app.db
        .collection::<Document>("orders")
        .update_one(
            doc! { "_id": ObjectId::parse_str(&order).unwrap() },
            doc! { "$set": { "claim": { "token": "tok_visa", "at": claimed_now } } },
        )
        .await
        .unwrap();
    let refused = app.bus.ask(&close(&order)).await.unwrap_err();
    assert!(refused.to_string().contains("in progress"), "{refused}");
    let replica = app.replica_where(&order, |_| true).await;
    assert!(
        !replica.get_bool("closed").unwrap_or(false),
        "not closed while held"
    );
}

#[tokio::test]
async fn an_order_past_its_window_can_not_be_paid() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 12.0).await;
    app.db
        .collection::<Document>("orders")
        .update_one(
            doc! { "_id": ObjectId::parse_str(&order).unwrap() },
            doc! { "$set": { "expiresAt": bson::DateTime::now() } },
        )
        .await
        .unwrap();
    let (status, body) = app.pay(&order, "tok_visa", &cookie).await;
    assert_eq!(
        (status, error_messages(&body)),
        (400, vec!["Cannot pay for a cancelled order".to_owned()])
    );
    assert!(app.charges_for(&[&order]).await.is_empty());
}

#[tokio::test]
async fn a_payment_that_died_mid_way_is_settled_and_then_answered_paid() {
    let app = spawn_app().await;
    let (user, _) = testkit::signed_in();
    let order = crate::stale::crashed_mid_payment(&app, user, 21.0).await;
    assert!(app.bus.ask(&close(&order)).await.is_err(), "settled first");
    assert_eq!(
        app.bus.ask(&close(&order)).await.unwrap(),
        PaymentState::Paid
    );
    assert!(app.payment_of(&order).await.is_some());
    assert_eq!(app.charges_for(&[&order]).await.len(), 1);
}
