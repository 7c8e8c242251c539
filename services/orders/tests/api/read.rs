use common::testkit::{self, status_and_json};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_user_lists_only_their_own_orders_oldest_first() {
    let app = spawn_app().await;
    let (_, alice) = testkit::signed_in();
    let (_, bob) = testkit::signed_in();
    let mut alices = Vec::new();
    for _ in 0..3 {
        let ticket = app.replicated_ticket(5.0).await;
        alices.push(app.order(&ticket, &alice).await.1["id"].clone());
    }
    let ticket = app.replicated_ticket(5.0).await;
    app.order(&ticket, &bob).await;

    let (status, listed) = status_and_json(app.api.get("/api/orders", Some(&alice)).await).await;
    assert_eq!(status, 200);
    let ids: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].clone())
        .collect();
    assert_eq!(ids, alices);
    assert!(listed[0]["ticket"]["title"].is_string(), "ticket embedded");
    let (status, _) = status_and_json(app.api.get("/api/orders", None).await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_order_is_shown_only_to_its_owner() {
    let app = spawn_app().await;
    let (_, alice) = testkit::signed_in();
    let ticket = app.replicated_ticket(5.0).await;
    let (_, order) = app.order(&ticket, &alice).await;
    let path = format!("/api/orders/{}", order["id"].as_str().unwrap());
    let (status, shown) = status_and_json(app.api.get(&path, Some(&alice)).await).await;
    assert_eq!((status, shown), (200, order));
    let (_, mallory) = testkit::signed_in();
    let (status, body) = status_and_json(app.api.get(&path, Some(&mallory)).await).await;
    assert_eq!(
        (status, body),
        (401, json!({ "errors": [{ "message": "Not authorized" }] }))
    );
    let (status, _) = status_and_json(app.api.get(&path, None).await).await;
    assert_eq!(status, 401);
    let unknown = format!(
        "/api/orders/{}",
        common::bson::oid::ObjectId::new().to_hex()
    );
    let (status, _) = status_and_json(app.api.get(&unknown, Some(&alice)).await).await;
    assert_eq!(status, 404);
    let (status, _) = status_and_json(app.api.get("/api/orders/123", Some(&alice)).await).await;
    assert_eq!(status, 400);
}
