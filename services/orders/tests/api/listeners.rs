use std::time::Duration;

use common::events::{ExpirationComplete, PaymentCreated, Subject, TicketUpdated};
use common::testkit::{self, eventually, stored_events, wait_for_events};

use crate::helpers::spawn_app;

fn update(id: &str, version: i64, title: &str) -> TicketUpdated {
    TicketUpdated {
        id: id.to_owned(),
        version,
        title: title.to_owned(),
        price: 10.0 + version as f64,
        user_id: "seller".into(),
        order_id: None,
    }
}

#[tokio::test]
async fn ticket_updates_out_of_order_are_applied_in_order() {
    let app = spawn_app().await;
    let ticket = app.replicated_ticket(10.0).await;
    app.bus
        .publish(&update(&ticket, 2, "second"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.bus.publish(&update(&ticket, 1, "first")).await.unwrap();
    let replica = app.replica_at(&ticket, 2).await;
    assert_eq!(replica.get_str("title").unwrap(), "second");
    assert_eq!(replica.get_i64("priceCents").unwrap(), 1200);
}

#[tokio::test]
async fn a_duplicate_ticket_update_changes_nothing() {
    let app = spawn_app().await;
    let ticket = app.replicated_ticket(10.0).await;
    app.bus.publish(&update(&ticket, 1, "once")).await.unwrap();
    app.replica_at(&ticket, 1).await;
    let mut stale = update(&ticket, 1, "stale copy");
    stale.price = 99.0;
    let raw = serde_json::to_vec(&stale).unwrap();
    app.bus
        .publish_raw("ticket.updated", "redelivered", raw.into())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let replica = app.replica_at(&ticket, 1).await;
    assert_eq!(replica.get_str("title").unwrap(), "once");
}

#[tokio::test]
async fn an_expiration_cancels_a_pending_order_and_frees_its_ticket() {
    let app = spawn_app().await;
    let ticket = app.replicated_ticket(10.0).await;
    let (_, cookie) = testkit::signed_in();
    let (_, order) = app.order(&ticket, &cookie).await;
    let id = order["id"].as_str().unwrap().to_owned();
    app.bus
        .publish(&ExpirationComplete {
            order_id: id.clone(),
        })
        .await
        .unwrap();
    eventually(10, "the order to be cancelled", || async {
        (app.order_status(&id).await == "cancelled").then_some(())
    })
    .await;
    let events = wait_for_events(&app.bus, Subject::OrderCancelled, 1).await;
    assert_eq!(events[0].payload["id"], id.as_str());
    assert_eq!(
        app.order(&ticket, &testkit::signed_in().1).await.0,
        201,
        "the ticket is free again"
    );
}

#[tokio::test]
async fn an_expiration_of_a_complete_order_publishes_nothing() {
    let app = spawn_app().await;
    let ticket = app.replicated_ticket(10.0).await;
    let (_, cookie) = testkit::signed_in();
    let (_, order) = app.order(&ticket, &cookie).await;
    let id = order["id"].as_str().unwrap().to_owned();
    app.bus
        .publish(&PaymentCreated {
            id: "p".into(),
            order_id: id.clone(),
            stripe_id: "ch".into(),
        })
        .await
        .unwrap();
    eventually(10, "the order to complete", || async {
        (app.order_status(&id).await == "complete").then_some(())
    })
    .await;
    app.bus
        .publish(&ExpirationComplete {
            order_id: id.clone(),
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(app.order_status(&id).await, "complete");
    assert!(
        stored_events(&app.bus, Subject::OrderCancelled)
            .await
            .is_empty()
    );
}
