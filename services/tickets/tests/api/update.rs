use common::events::Subject;
use common::testkit::{self, error_messages, field_errors, status_and_json, wait_for_events};
use serde_json::json;

use crate::helpers::{new_id, spawn_app};

#[tokio::test]
async fn the_owner_updates_title_and_price_and_it_is_announced() {
    let app = spawn_app().await;
    let (cookie, ticket) = app.listed_ticket("old", 10.0).await;
    let id = ticket["id"].as_str().unwrap();
    let (status, updated) = status_and_json(
        app.api
            .put(
                &format!("/api/tickets/{id}"),
                &json!({ "title": "new", "price": 100 }),
                Some(&cookie),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            updated["title"].clone(),
            updated["price"].clone(),
            updated["version"].clone()
        ),
        (json!("new"), json!(100.0), json!(1))
    );
    assert_eq!(app.ticket(id).await, updated);
    let events = wait_for_events(&app.bus, Subject::TicketUpdated, 1).await;
    assert_eq!(events[0].payload["version"], 1);
    assert_eq!(events[0].payload["title"], "new");
    assert_eq!(
        events[0].message_id.as_deref(),
        Some(format!("ticket.updated:{id}:1").as_str())
    );
}

#[tokio::test]
async fn updates_are_refused_in_the_contract_order() {
    let app = spawn_app().await;
    let (cookie, ticket) = app.listed_ticket("mine", 10.0).await;
    let path = format!("/api/tickets/{}", ticket["id"].as_str().unwrap());
    let valid = json!({ "title": "t", "price": 20 });

    let (status, _) = status_and_json(app.api.put(&path, &valid, None).await).await;
    assert_eq!(status, 401, "anonymous");

    let (status, body) = status_and_json(
        app.api
            .put(&path, &json!({ "title": "", "price": -1 }), Some(&cookie))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(field_errors(&body).len(), 2);

    let (status, _) = status_and_json(
        app.api
            .put(&format!("/api/tickets/{}", new_id()), &valid, Some(&cookie))
            .await,
    )
    .await;
    assert_eq!(status, 404);

    let (_, stranger) = testkit::signed_in();
    let (status, body) = status_and_json(app.api.put(&path, &valid, Some(&stranger)).await).await;
    assert_eq!(
        (status, error_messages(&body)),
        (401, vec!["Not authorized".to_owned()])
    );

    // Nothing changed.
    let unchanged = app.ticket(ticket["id"].as_str().unwrap()).await;
    assert_eq!(unchanged, ticket);
}

#[tokio::test]
async fn an_update_to_a_price_the_processor_cannot_charge_is_refused() {
    let app = spawn_app().await;
    let (cookie, ticket) = app.listed_ticket("payable", 10.0).await;
    let path = format!("/api/tickets/{}", ticket["id"].as_str().unwrap());
    for (price, message) in [
        (json!(0.49), "Price must be at least 0.50"),
        (json!(1_000_000), "Price must be less than 1000000"),
    ] {
        let body = json!({ "title": "t", "price": price });
        let (status, answer) =
            status_and_json(app.api.put(&path, &body, Some(&cookie)).await).await;
        assert_eq!(status, 400, "{price}");
        assert_eq!(
            field_errors(&answer),
            vec![("price".to_owned(), message.to_owned())],
            "{price}"
        );
    }
    assert_eq!(app.ticket(ticket["id"].as_str().unwrap()).await, ticket);
}
