//! `GET /metrics` on the metrics port: tickets created, reservations refused, the listeners'
//! deliveries and the outbox backlog.

use chrono::Utc;
use common::events::{OrderCreated, OrderStatus, OrderTicket, OutboxRelay, Subject};
use common::metrics::{
    CONSUMER_DELIVERED, CONSUMER_HANDLER_DURATION, OUTBOX_OLDEST_AGE, OUTBOX_PENDING,
    RESERVATIONS_REFUSED, TICKETS_CREATED,
};
use common::testkit::{self, wait_for_events};
use serde_json::{Value, json};

use crate::helpers::{new_id, spawn_app, spawn_with};

fn order_for(ticket: &Value) -> OrderCreated {
    OrderCreated {
        id: new_id(),
        version: 0,
        status: OrderStatus::Created,
        user_id: new_id(),
        expires_at: Utc::now(),
        ticket: OrderTicket {
            id: ticket["id"].as_str().unwrap().to_owned(),
            price: ticket["price"].as_f64().unwrap(),
            version: ticket["version"].as_i64().unwrap(),
        },
    }
}

#[tokio::test]
async fn tickets_refusals_and_deliveries_are_counted() {
    let app = spawn_app().await;
    let consumer = [("consumer", "tickets-order-created")];
    let before_created = app.metrics.value(TICKETS_CREATED, &[]).await;
    let before_refused = app.metrics.value(RESERVATIONS_REFUSED, &[]).await;
    let before_delivered = app.metrics.value(CONSUMER_DELIVERED, &consumer).await;

    let (_, reserved) = app.listed_ticket("reserved", 10.0).await;
    let (cookie, changed) = app.listed_ticket("changed", 20.0).await;
    let stale = order_for(&changed); // priced before the seller's change
    let id = changed["id"].as_str().unwrap();
    let edit = json!({ "title": "changed", "price": 25 });
    let path = format!("/api/tickets/{id}");
    assert_eq!(app.api.put(&path, &edit, Some(&cookie)).await.status(), 200);
    app.bus.publish(&order_for(&reserved)).await.unwrap();
    app.bus.publish(&stale).await.unwrap();
    wait_for_events(&app.bus, Subject::TicketReservationRefused, 1).await;
    testkit::wait_until_handled(&app.bus, "tickets", Subject::OrderCreated).await;

    assert_eq!(
        app.metrics.value(TICKETS_CREATED, &[]).await,
        before_created + 2.0
    );
    assert_eq!(
        app.metrics.value(RESERVATIONS_REFUSED, &[]).await,
        before_refused + 1.0
    );
    // Acknowledged is not yet counted: the handler's time is recorded as it returns.
    app.metrics
        .reaches(CONSUMER_DELIVERED, &consumer, before_delivered + 2.0)
        .await;
    let handled = [
        ("consumer", "tickets-order-created"),
        ("outcome", "handled"),
    ];
    let count = format!("{CONSUMER_HANDLER_DURATION}_count");
    assert!(app.metrics.value(&count, &handled).await >= 2.0);
}

#[tokio::test]
async fn the_outbox_backlog_is_measured() {
    // The relay is off: the event stays pending, as after a crash or during a NATS outage.
    let bus = testkit::fresh_bus().await;
    let mut settings = testkit::event_service_settings("tickets", &bus);
    settings.relay_events = false;
    let app = spawn_with(settings, bus.clone()).await;
    app.listed_ticket("waiting", 10.0).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let relay = OutboxRelay::new(bus.clone(), vec![app.db.collection("tickets")]);
    relay.measure_backlog().await.unwrap();
    assert_eq!(app.metrics.value(OUTBOX_PENDING, &[]).await, 1.0);
    let age = app.metrics.value(OUTBOX_OLDEST_AGE, &[]).await;
    assert!(
        (1.0..60.0).contains(&age),
        "oldest pending event {age} s old"
    );

    relay.publish_pending().await.unwrap();
    relay.measure_backlog().await.unwrap();
    assert_eq!(app.metrics.value(OUTBOX_PENDING, &[]).await, 0.0);
    assert_eq!(app.metrics.value(OUTBOX_OLDEST_AGE, &[]).await, 0.0);
}
