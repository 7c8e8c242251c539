use std::time::Duration;

use common::bson::{Document, doc, oid::ObjectId};
use common::events::{
    Applied, ExpirationComplete, PaymentCreated, Subject, TICKET_CHANGED, TicketCreated,
    TicketReservationRefused, TicketUpdated, apply_in_order,
};
use common::testkit::{self, eventually, stored_events, wait_for_events};

use crate::helpers::{payments_answering, spawn_app};

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
async fn a_ticket_update_right_behind_its_creation_is_applied() {
    // The two are handled by two consumers at once: an update that just missed the replica's
    // insertion must be applied, not taken for a duplicate.
    let app = spawn_app().await;
    let ids: Vec<String> = (0..25).map(|_| ObjectId::new().to_hex()).collect();
    for id in &ids {
        app.bus
            .publish(&TicketCreated {
                id: id.clone(),
                version: 0,
                title: "first".into(),
                price: 10.0,
                user_id: "seller".into(),
            })
            .await
            .unwrap();
        app.bus.publish(&update(id, 1, "second")).await.unwrap();
    }
    for id in &ids {
        let replica = app.replica_at(id, 1).await;
        assert_eq!(replica.get_str("title").unwrap(), "second");
    }
}

#[tokio::test]
async fn an_update_racing_the_replicas_insertion_is_never_taken_for_a_duplicate() {
    // apply_in_order itself, against the database: each update runs alongside the insertion
    // of its replica, as the two consumers do.
    let app = spawn_app().await;
    let replicas = app.db.collection::<Document>("race");
    let ids: Vec<ObjectId> = (0..200).map(|_| ObjectId::new()).collect();
    let races = ids.iter().map(|&id| {
        let replicas = replicas.clone();
        async move {
            let insert = async {
                replicas
                    .update_one(
                        doc! { "_id": id },
                        doc! { "$setOnInsert": { "version": 0_i64 } },
                    )
                    .upsert(true)
                    .await
                    .unwrap();
            };
            let apply = async {
                loop {
                    match apply_in_order(&replicas, id, 1, doc! { "title": "x" })
                        .await
                        .unwrap()
                    {
                        Applied::Gap { .. } => tokio::task::yield_now().await,
                        done => return done,
                    }
                }
            };
            tokio::join!(apply, insert).0
        }
    });
    let outcomes = futures::future::join_all(races).await;
    for (id, outcome) in ids.iter().zip(outcomes) {
        let replica = replicas
            .find_one(doc! { "_id": id })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (outcome, replica.get_i64("version").unwrap()),
            (Applied::Applied, 1),
            "{id}"
        );
    }
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
    let _payments = payments_answering(&app.bus, Vec::new()).await;
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
    eventually("the order to be cancelled", || async {
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
    eventually("the order to complete", || async {
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

#[tokio::test]
async fn an_expiry_completes_an_order_payments_says_is_paid_before_its_payment_is_announced() {
    // Buyers paid in time, then their orders' windows passed while `payment.created` was still
    // in the payments service's outbox (NATS was down, say): the owner of payments says they are
    // paid, so every order ends complete, none cancelled, nothing published.
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let ticket = app.replicated_ticket(10.0).await;
        let (_, order) = app.order(&ticket, &testkit::signed_in().1).await;
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    let _payments = payments_answering(&app.bus, ids.clone()).await;
    for id in &ids {
        app.bus
            .publish(&ExpirationComplete {
                order_id: id.clone(),
            })
            .await
            .unwrap();
    }
    testkit::wait_until_handled(&app.bus, "orders", Subject::ExpirationComplete).await;
    for id in &ids {
        assert_eq!(app.order_status(id).await, "complete", "order {id}");
    }
    assert!(
        stored_events(&app.bus, Subject::OrderCancelled)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn an_expiry_waits_while_payments_can_not_answer() {
    let app = spawn_app().await;
    let ticket = app.replicated_ticket(10.0).await;
    let (_, order) = app.order(&ticket, &testkit::signed_in().1).await;
    let id = order["id"].as_str().unwrap().to_owned();
    app.bus
        .publish(&ExpirationComplete {
            order_id: id.clone(),
        })
        .await
        .unwrap();
    // Nobody answers for payments: the order is not cancelled on a guess.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.order_status(&id).await, "created");
    let _payments = payments_answering(&app.bus, Vec::new()).await;
    eventually(
        "the order to be cancelled once payments answers",
        || async { (app.order_status(&id).await == "cancelled").then_some(()) },
    )
    .await;
}

/// The tickets service holding `ticket` (replica at `version - 1`) for `order`.
fn held_for(ticket: &str, version: i64, order: &str) -> TicketUpdated {
    TicketUpdated {
        order_id: Some(order.to_owned()),
        ..update(ticket, version, &format!("ticket {ticket}"))
    }
}

#[tokio::test]
async fn a_reservation_confirmed_by_tickets_makes_the_order_await_payment() {
    let app = spawn_app().await;
    let ticket = app.replicated_ticket(10.0).await;
    let (_, cookie) = testkit::signed_in();
    let (status, order) = app.order(&ticket, &cookie).await;
    assert_eq!((status, order["status"].as_str()), (201, Some("created")));
    let id = order["id"].as_str().unwrap().to_owned();

    app.bus.publish(&held_for(&ticket, 1, &id)).await.unwrap();
    let confirmed = wait_for_events(&app.bus, Subject::OrderConfirmed, 1).await;
    assert_eq!(confirmed[0].payload["id"], id.as_str());
    assert_eq!(confirmed[0].payload["version"], 1);
    assert_eq!(app.order_status(&id).await, "awaiting:payment");
    let (_, shown) = testkit::status_and_json(
        app.api
            .get(&format!("/api/orders/{id}"), Some(&cookie))
            .await,
    )
    .await;
    assert_eq!(shown["status"], "awaiting:payment");
    assert_eq!(shown["version"], 1);

    // A redelivery confirms nothing twice.
    app.bus.publish(&held_for(&ticket, 1, &id)).await.unwrap();
    testkit::wait_until_handled(&app.bus, "orders", Subject::TicketUpdated).await;
    assert_eq!(
        stored_events(&app.bus, Subject::OrderConfirmed).await.len(),
        1
    );
}

#[tokio::test]
async fn a_refused_reservation_cancels_the_order_with_its_reason() {
    let app = spawn_app().await;
    let ticket = app.replicated_ticket(10.0).await;
    let (_, cookie) = testkit::signed_in();
    let (_, order) = app.order(&ticket, &cookie).await;
    let id = order["id"].as_str().unwrap().to_owned();

    let refusal = TicketReservationRefused {
        id: ticket.clone(),
        version: 1,
        order_id: id.clone(),
        reason: TICKET_CHANGED.to_owned(),
    };
    app.bus.publish(&refusal).await.unwrap();
    let cancelled = wait_for_events(&app.bus, Subject::OrderCancelled, 1).await;
    assert_eq!(cancelled[0].payload["id"], id.as_str());
    let (_, shown) = testkit::status_and_json(
        app.api
            .get(&format!("/api/orders/{id}"), Some(&cookie))
            .await,
    )
    .await;
    assert_eq!(shown["status"], "cancelled");
    assert_eq!(shown["reason"], "ticket changed");

    // Redelivered: nothing more; and the ticket can be ordered again.
    app.bus.publish(&refusal).await.unwrap();
    testkit::wait_until_handled(&app.bus, "orders", Subject::TicketReservationRefused).await;
    assert_eq!(
        stored_events(&app.bus, Subject::OrderCancelled).await.len(),
        1
    );
    assert_eq!(app.order(&ticket, &cookie).await.0, 201);
}
