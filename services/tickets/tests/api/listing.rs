//! The listing is answered from memory between changes: each replica lists its own changes at
//! once and other replicas' changes once their events arrive.

use common::bson::{doc, oid::ObjectId};
use common::testkit::{eventually, status_and_json};
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_id, spawn_app, spawn_with};
use crate::listeners::order_for;

async fn listing(app: &TestApp) -> Vec<Value> {
    let (status, body) = status_and_json(app.api.get("/api/tickets", None).await).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("an array").clone()
}

fn titles(listing: &[Value]) -> Vec<&str> {
    listing
        .iter()
        .map(|ticket| ticket["title"].as_str().unwrap())
        .collect()
}

/// A second replica of the same service: same database, same streams.
async fn second_replica(app: &TestApp) -> TestApp {
    spawn_with(app.settings.clone(), app.bus.clone()).await
}

#[tokio::test]
async fn between_changes_the_listing_is_not_read_again() {
    let app = spawn_app().await;
    app.listed_ticket("listed", 10.0).await;
    // A document written behind the service's back (no event) shows that requests are answered
    // from memory; once the replica follows the stream, it stays unseen until a ticket changes.
    let tickets = app.db.collection::<common::bson::Document>("tickets");
    eventually("the listing answered from memory", || async {
        let before = listing(&app).await;
        tickets
            .insert_one(
                doc! { "_id": ObjectId::new(), "title": "behind its back", "priceCents": 100,
                "userId": new_id(), "version": 0, "editedVersion": 0 },
            )
            .await
            .unwrap();
        (listing(&app).await == before).then_some(())
    })
    .await;

    app.listed_ticket("next", 10.0).await;
    let after_a_change = listing(&app).await;
    let titles = titles(&after_a_change);
    assert_eq!(titles.first(), Some(&"listed"));
    assert_eq!(titles.last(), Some(&"next"));
    assert!(titles.contains(&"behind its back"), "{titles:?}");
}

#[tokio::test]
async fn each_replica_lists_its_own_changes_at_once_and_the_others_after_their_events() {
    let a = spawn_app().await;
    let b = second_replica(&a).await;
    assert_eq!(listing(&a).await, Vec::<Value>::new());
    assert_eq!(listing(&b).await, Vec::<Value>::new());

    // Created on a: a lists it at once, b once ticket.created arrives.
    let (cookie, ticket) = a.listed_ticket("concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap().to_owned();
    assert_eq!(listing(&a).await, vec![ticket.clone()]);
    eventually("b lists the new ticket", || async {
        (listing(&b).await == [ticket.clone()]).then_some(())
    })
    .await;

    // Edited on b: b lists the new price at once, a once ticket.updated arrives.
    let (status, edited) = status_and_json(
        b.api
            .put(
                &format!("/api/tickets/{id}"),
                &json!({ "title": "concert", "price": 25 }),
                Some(&cookie),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(listing(&b).await, vec![edited.clone()]);
    eventually("a lists the new price", || async {
        (listing(&a).await == [edited.clone()]).then_some(())
    })
    .await;

    // Reserved by an order (whichever replica's listener takes it): neither lists it.
    a.bus.publish(&order_for(&edited, &new_id())).await.unwrap();
    for replica in [&a, &b] {
        eventually("the reserved ticket left the listing", || async {
            listing(replica).await.is_empty().then_some(())
        })
        .await;
    }
}
