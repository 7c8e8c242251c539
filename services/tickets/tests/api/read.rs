use common::testkit::{error_messages, status_and_json};
use serde_json::json;

use crate::helpers::{new_id, spawn_app};

#[tokio::test]
async fn an_unknown_ticket_is_404_and_a_malformed_id_400() {
    let app = spawn_app().await;
    let (status, body) = status_and_json(
        app.api
            .get(&format!("/api/tickets/{}", new_id()), None)
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (404, json!({ "errors": [{ "message": "Not Found" }] }))
    );
    let (status, body) = status_and_json(app.api.get("/api/tickets/not-an-id", None).await).await;
    assert_eq!(status, 400);
    assert_eq!(error_messages(&body).len(), 1);
}

#[tokio::test]
async fn a_listed_ticket_can_be_shown() {
    let app = spawn_app().await;
    let (_, ticket) = app.listed_ticket("Opera", 45.5).await;
    let shown = app.ticket(ticket["id"].as_str().unwrap()).await;
    assert_eq!(shown, ticket);
}

#[tokio::test]
async fn the_list_has_every_unreserved_ticket_oldest_first() {
    let app = spawn_app().await;
    let (status, body) = status_and_json(app.api.get("/api/tickets", None).await).await;
    assert_eq!((status, body), (200, json!([])));
    for title in ["first", "second", "third"] {
        app.listed_ticket(title, 10.0).await;
    }
    let (_, body) = status_and_json(app.api.get("/api/tickets", None).await).await;
    let titles: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["first", "second", "third"]);
    assert!(
        body.as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("orderId").is_none() && t["price"] == 10.0)
    );
}
