use chrono::Utc;
use common::events::{OrderCancelled, OrderCreated, OrderStatus, OrderTicket, Subject, TicketRef};
use common::testkit::{
    error_messages, eventually, status_and_json, stored_events, wait_for_events, wait_until_handled,
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_id, spawn_app};

pub fn order_for(ticket: &Value, order_id: &str) -> OrderCreated {
    OrderCreated {
        id: order_id.to_owned(),
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

fn cancellation(ticket: &Value, order_id: &str) -> OrderCancelled {
    OrderCancelled {
        id: order_id.to_owned(),
        version: 1,
        ticket: TicketRef {
            id: ticket["id"].as_str().unwrap().to_owned(),
        },
    }
}

async fn wait_for_version(app: &TestApp, id: &str, version: i64) -> Value {
    eventually(&format!("ticket version {version}"), || async {
        let ticket = app.ticket(id).await;
        (ticket["version"] == version).then_some(ticket)
    })
    .await
}

#[tokio::test]
async fn an_order_reserves_the_ticket_and_a_reserved_ticket_cannot_be_edited() {
    let app = spawn_app().await;
    let (cookie, ticket) = app.listed_ticket("show", 30.0).await;
    let id = ticket["id"].as_str().unwrap();
    let order_id = new_id();
    app.bus
        .publish(&order_for(&ticket, &order_id))
        .await
        .unwrap();

    let reserved = wait_for_version(&app, id, 1).await;
    assert_eq!(reserved["orderId"], order_id.as_str());
    let events = wait_for_events(&app.bus, Subject::TicketUpdated, 1).await;
    assert_eq!(events[0].payload["orderId"], order_id.as_str());
    assert_eq!(events[0].payload["version"], 1);

    let (status, body) = status_and_json(
        app.api
            .put(
                &format!("/api/tickets/{id}"),
                &json!({ "title": "x", "price": 1 }),
                Some(&cookie),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, error_messages(&body)),
        (400, vec!["Cannot edit a reserved ticket".to_owned()])
    );

    let (_, listed) = status_and_json(app.api.get("/api/tickets", None).await).await;
    assert_eq!(listed, json!([]), "a reserved ticket is not for sale");
}

#[tokio::test]
async fn a_duplicate_order_created_changes_nothing() {
    let app = spawn_app().await;
    let (_, ticket) = app.listed_ticket("dup", 30.0).await;
    let id = ticket["id"].as_str().unwrap();
    let order = order_for(&ticket, &new_id());
    app.bus.publish(&order).await.unwrap();
    wait_for_version(&app, id, 1).await;
    // A redelivery under a new message id (so the stream does not drop it).
    let raw = serde_json::to_vec(&order).unwrap();
    app.bus
        .publish_raw("order.created", "redelivery", raw.into())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.ticket(id).await["version"], 1);
    assert_eq!(
        stored_events(&app.bus, Subject::TicketUpdated).await.len(),
        1
    );
}

#[tokio::test]
async fn cancelling_another_order_never_frees_the_ticket() {
    let app = spawn_app().await;
    let (_, ticket) = app.listed_ticket("held", 30.0).await;
    let id = ticket["id"].as_str().unwrap();
    let (order_a, order_b) = (new_id(), new_id());
    app.bus
        .publish(&order_for(&ticket, &order_b))
        .await
        .unwrap();
    wait_for_version(&app, id, 1).await;

    app.bus
        .publish(&cancellation(&ticket, &order_a))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let still = app.ticket(id).await;
    assert_eq!(
        (still["orderId"].clone(), still["version"].clone()),
        (json!(order_b), json!(1))
    );

    app.bus
        .publish(&cancellation(&ticket, &order_b))
        .await
        .unwrap();
    let freed = wait_for_version(&app, id, 2).await;
    assert!(freed.get("orderId").is_none());
    let events = wait_for_events(&app.bus, Subject::TicketUpdated, 2).await;
    assert_eq!(events[1].payload["version"], 2);
    assert!(events[1].payload.get("orderId").is_none());
}

#[tokio::test]
async fn a_late_order_created_after_its_cancellation_does_not_reserve() {
    let app = spawn_app().await;
    let (_, ticket) = app.listed_ticket("late", 30.0).await;
    let id = ticket["id"].as_str().unwrap();
    let order_id = new_id();
    app.bus
        .publish(&cancellation(&ticket, &order_id))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.bus
        .publish(&order_for(&ticket, &order_id))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let after = app.ticket(id).await;
    assert_eq!(after["version"], 0);
    assert!(after.get("orderId").is_none());
    // A different order can still reserve it.
    app.bus
        .publish(&order_for(&ticket, &new_id()))
        .await
        .unwrap();
    let reserved = wait_for_version(&app, id, 1).await;
    assert_ne!(reserved["orderId"], Value::from(order_id));
}

#[tokio::test]
async fn an_order_cancelled_as_it_is_created_leaves_its_ticket_free() {
    // Its two events are handled by two consumers at the same moment: whichever lands first,
    // the ticket ends free (never reserved, or reserved and released).
    let app = spawn_app().await;
    let mut tickets = Vec::new();
    for _ in 0..20 {
        tickets.push(app.listed_ticket("race", 30.0).await.1);
    }
    for ticket in &tickets {
        let order_id = new_id();
        app.bus
            .publish(&order_for(ticket, &order_id))
            .await
            .unwrap();
        app.bus
            .publish(&cancellation(ticket, &order_id))
            .await
            .unwrap();
    }
    wait_until_handled(&app.bus, "tickets", Subject::OrderCreated).await;
    wait_until_handled(&app.bus, "tickets", Subject::OrderCancelled).await;
    for ticket in &tickets {
        let shown = app.ticket(ticket["id"].as_str().unwrap()).await;
        assert!(
            shown.get("orderId").is_none() && (shown["version"] == 0 || shown["version"] == 2),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn an_order_priced_before_the_sellers_change_is_refused_once() {
    let app = spawn_app().await;
    let (cookie, ticket) = app.listed_ticket("show", 30.0).await;
    let id = ticket["id"].as_str().unwrap();
    let seen = order_for(&ticket, &new_id()); // priced at version 0
    let (status, _) = status_and_json(
        app.api
            .put(
                &format!("/api/tickets/{id}"),
                &json!({ "title": "show", "price": 3000 }),
                Some(&cookie),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200);

    app.bus.publish(&seen).await.unwrap();
    let refused = wait_for_events(&app.bus, Subject::TicketReservationRefused, 1).await;
    assert_eq!(refused[0].payload["id"], id);
    assert_eq!(refused[0].payload["orderId"], seen.id.as_str());
    assert_eq!(refused[0].payload["reason"], "ticket changed");
    assert_eq!(refused[0].payload["version"], 1);
    let unchanged = app.ticket(id).await;
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["price"], 3000.0);
    assert!(unchanged.get("orderId").is_none());

    // Redelivered, and then cancelled by the orders service: nothing more happens.
    app.bus.publish(&seen).await.unwrap();
    app.bus
        .publish(&cancellation(&ticket, &seen.id))
        .await
        .unwrap();
    wait_until_handled(&app.bus, "tickets", Subject::OrderCreated).await;
    wait_until_handled(&app.bus, "tickets", Subject::OrderCancelled).await;
    assert_eq!(
        stored_events(&app.bus, Subject::TicketReservationRefused)
            .await
            .len(),
        1
    );
    assert!(stored_events(&app.bus, Subject::TicketUpdated).await.len() == 1);
    assert_eq!(app.ticket(id).await["version"], 1);
}

#[tokio::test]
async fn reservations_and_releases_never_make_a_later_order_stale() {
    let app = spawn_app().await;
    let (_, ticket) = app.listed_ticket("show", 30.0).await;
    let id = ticket["id"].as_str().unwrap();
    let first = new_id();
    app.bus.publish(&order_for(&ticket, &first)).await.unwrap();
    wait_for_version(&app, id, 1).await;
    app.bus
        .publish(&cancellation(&ticket, &first))
        .await
        .unwrap();
    let freed = wait_for_version(&app, id, 2).await;
    assert!(freed.get("orderId").is_none());

    // Priced on a replica that had seen the reservation but not yet the release: same price.
    let second = new_id();
    let mut late = order_for(&ticket, &second);
    late.ticket.version = 1;
    app.bus.publish(&late).await.unwrap();
    let reserved = wait_for_version(&app, id, 3).await;
    assert_eq!(reserved["orderId"], second.as_str());
    assert!(
        stored_events(&app.bus, Subject::TicketReservationRefused)
            .await
            .is_empty()
    );
}
