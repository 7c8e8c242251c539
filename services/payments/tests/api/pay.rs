use common::bson::{Document, doc};
use common::events::{OrderCancelled, Subject, TicketRef};
use common::testkit::{self, error_messages, field_errors, wait_for_events};
use futures::future::join_all;
use serde_json::json;

use crate::helpers::{confirmation_of, order_event, spawn_app};

#[tokio::test]
async fn paying_checks_the_caller_the_input_and_the_order() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 10.0).await;
    assert_eq!(
        app.api
            .post(
                "/api/payments",
                &json!({ "orderId": order, "token": "tok_visa" }),
                None
            )
            .await
            .status(),
        401
    );

    let (status, body) = testkit::status_and_json(
        app.api
            .post("/api/payments", &json!({}), Some(&cookie))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        field_errors(&body),
        [
            ("orderId".to_owned(), "orderId is required".to_owned()),
            ("token".to_owned(), "token is required".to_owned())
        ]
    );
    let unknown = common::bson::oid::ObjectId::new().to_hex();
    assert_eq!(app.pay(&unknown, "tok_visa", &cookie).await.0, 404);

    let (_, stranger) = testkit::signed_in();
    let (status, body) = app.pay(&order, "tok_visa", &stranger).await;
    assert_eq!(
        (status, error_messages(&body)),
        (401, vec!["Not authorized".to_owned()])
    );
    assert!(app.charges_for(&[&order]).await.is_empty());
}

#[tokio::test]
async fn a_good_card_is_charged_exactly_the_price_once() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 19.99).await;
    let (status, body) = app.pay(&order, "tok_visa", &cookie).await;
    assert_eq!(status, 201, "{body}");
    let payment_id = body["id"].as_str().unwrap().to_owned();

    let charges = app.charges_for(&[&order]).await;
    assert_eq!(charges.len(), 1);
    assert_eq!(
        (charges[0]["amount"].clone(), charges[0]["currency"].clone()),
        (json!(1999), json!("usd"))
    );

    let stored = app.payment_of(&order).await.unwrap();
    assert_eq!(
        stored.get_str("stripeId").unwrap(),
        charges[0]["id"].as_str().unwrap()
    );
    let events = wait_for_events(&app.bus, Subject::PaymentCreated, 1).await;
    assert_eq!(
        events[0].payload,
        json!({ "id": payment_id, "orderId": order, "stripeId": charges[0]["id"] })
    );

    let (status, body) = app.pay(&order, "tok_visa", &cookie).await;
    assert_eq!(
        (status, error_messages(&body)),
        (400, vec!["Order is already paid".to_owned()])
    );
    assert_eq!(
        app.charges_for(&[&order]).await.len(),
        1,
        "never charged twice"
    );
}

#[tokio::test]
async fn a_declined_card_is_402_and_the_order_stays_payable() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 25.0).await;
    let (status, body) = app.pay(&order, "tok_chargeDeclined", &cookie).await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(error_messages(&body).len(), 1);
    assert!(!error_messages(&body)[0].is_empty());
    let (status, _) = app.pay(&order, "tok_visa", &cookie).await;
    assert_eq!(status, 201);
    assert_eq!(app.charges_for(&[&order]).await.len(), 1);
}

#[tokio::test]
async fn a_card_the_processor_fails_on_leaves_the_order_payable_with_a_good_card() {
    // The local Stripe mock answers a token it does not know with HTTP 500 (Stripe: 400).
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 25.0).await;
    for token in ["tok_unknown", "abc"] {
        let (status, body) = app.pay(&order, token, &cookie).await;
        assert_eq!(
            (status, error_messages(&body)),
            (
                402,
                vec!["The card could not be charged; try again or use another card".to_owned()]
            ),
            "{token}"
        );
    }
    let (status, _) = app.pay(&order, "tok_visa", &cookie).await;
    assert_eq!(status, 201, "not locked out");
    assert_eq!(app.charges_for(&[&order]).await.len(), 1);
}

#[tokio::test]
async fn a_cancelled_order_cannot_be_paid() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 5.0).await;
    app.bus
        .publish(&OrderCancelled {
            id: order.clone(),
            version: 2,
            ticket: TicketRef { id: "t".into() },
        })
        .await
        .unwrap();
    app.replica_where(&order, |o| o.get_str("status") == Ok("cancelled"))
        .await;
    let (status, body) = app.pay(&order, "tok_visa", &cookie).await;
    assert_eq!(
        (status, error_messages(&body)),
        (400, vec!["Cannot pay for a cancelled order".to_owned()])
    );
    assert!(app.charges_for(&[&order]).await.is_empty());
}

#[tokio::test]
async fn concurrent_payments_for_one_order_charge_once() {
    let app = spawn_app().await;
    let mut orders = Vec::new();
    for tokens in [["tok_visa", "tok_visa"], ["tok_visa", "tok_mastercard"]] {
        let (user, cookie) = testkit::signed_in();
        let order = app.replicated_order(user, 40.0).await;
        let answers = join_all(tokens.iter().map(|token| app.pay(&order, token, &cookie))).await;
        let created = answers.iter().filter(|(status, _)| *status == 201).count();
        assert_eq!(created, 1, "{tokens:?}: {answers:?}");
        assert!(
            answers
                .iter()
                .all(|(status, _)| *status == 201 || *status == 400),
            "{answers:?}"
        );
        orders.push(order);
    }
    let orders: Vec<&str> = orders.iter().map(String::as_str).collect();
    assert_eq!(
        app.charges_for(&orders).await.len(),
        2,
        "one charge per order"
    );
}

#[tokio::test]
async fn a_paid_order_cancelled_afterwards_is_refunded_once() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 12.0).await;
    assert_eq!(app.pay(&order, "tok_visa", &cookie).await.0, 201);
    // The order's expiration won the race in the orders service.
    let cancelled = OrderCancelled {
        id: order.clone(),
        version: 2,
        ticket: TicketRef { id: "t".into() },
    };
    app.bus.publish(&cancelled).await.unwrap();
    let payments = app.db.collection::<Document>("payments");
    let refunded = testkit::eventually("the refund", || async {
        let payment = payments
            .find_one(doc! { "orderId": &order })
            .await
            .unwrap()?;
        payment.get_str("refundId").ok().map(str::to_owned)
    })
    .await;
    assert!(refunded.starts_with("re_"), "{refunded}");
    let charges = app.charges_for(&[&order]).await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["refunded"], json!(true));
    assert_eq!(charges[0]["amount_refunded"], json!(1200));
    // A redelivered cancellation refunds nothing more.
    let raw = serde_json::to_vec(&cancelled).unwrap();
    app.bus
        .publish_raw("order.cancelled", "again", raw.into())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let payment = payments
        .find_one(doc! { "orderId": &order })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.get_str("refundId").unwrap(), refunded);
}

#[tokio::test]
async fn a_payment_waits_for_the_reservation_to_be_confirmed() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let id = common::bson::oid::ObjectId::new().to_hex();
    let order = order_event(&id, user, 8.0);
    app.bus.publish(&order).await.unwrap();
    app.replica_where(&id, |o| o.get_str("status") == Ok("created"))
        .await;
    // The confirmation arrives while the payment waits for it.
    let confirm = {
        let bus = app.bus.clone();
        let confirmation = confirmation_of(&order);
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            bus.publish(&confirmation).await.unwrap();
        })
    };
    let (status, _) = app.pay(&id, "tok_visa", &cookie).await;
    confirm.await.unwrap();
    assert_eq!(status, 201);
    assert_eq!(app.charges_for(&[&id]).await.len(), 1);
}

#[tokio::test]
async fn an_order_whose_reservation_is_never_confirmed_is_not_charged() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let id = common::bson::oid::ObjectId::new().to_hex();
    app.bus.publish(&order_event(&id, user, 8.0)).await.unwrap();
    app.replica_where(&id, |o| o.get_str("status") == Ok("created"))
        .await;
    let (status, body) = app.pay(&id, "tok_visa", &cookie).await;
    assert_eq!(
        (status, error_messages(&body)),
        (
            409,
            vec!["The reservation is not confirmed yet; try again in a moment".to_owned()]
        )
    );
    assert!(app.charges_for(&[&id]).await.is_empty());
}

#[tokio::test]
async fn a_user_paying_too_often_is_told_to_wait_and_others_are_not() {
    let mut http = testkit::http_settings();
    http.rate_limits.payments_per_user = std::num::NonZeroU32::new(1).unwrap();
    let app = crate::helpers::spawn_with_http(http).await;
    let pay =
        json!({ "orderId": common::bson::oid::ObjectId::new().to_hex(), "token": "tok_visa" });
    let (_, cookie) = testkit::signed_in();
    let first = app.api.post("/api/payments", &pay, Some(&cookie)).await;
    assert_eq!(first.status(), 404);
    let second = app.api.post("/api/payments", &pay, Some(&cookie)).await;
    assert_eq!(second.status(), 429);
    assert!(second.headers().contains_key("retry-after"));
    let (_, other) = testkit::signed_in();
    assert_eq!(
        app.api
            .post("/api/payments", &pay, Some(&other))
            .await
            .status(),
        404
    );
}
