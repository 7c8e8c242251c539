use common::events::{PaymentCreated, Subject};
use common::testkit::{
    self, error_messages, eventually, status_and_json, stored_events, wait_for_events,
};

use crate::helpers::spawn_app;

#[tokio::test]
async fn cancelling_frees_the_ticket_once_and_announces_it_once() {
    let app = spawn_app().await;
    let ticket = app.replicated_ticket(5.0).await;
    let (_, alice) = testkit::signed_in();
    let (_, order) = app.order(&ticket, &alice).await;
    let id = order["id"].as_str().unwrap();
    let path = format!("/api/orders/{id}");

    let (_, mallory) = testkit::signed_in();
    assert_eq!(app.api.delete(&path, Some(&mallory)).await.status(), 401);
    assert_eq!(app.api.delete(&path, None).await.status(), 401);

    let response = app.api.delete(&path, Some(&alice)).await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.order_status(id).await, "cancelled");
    let events = wait_for_events(&app.bus, Subject::OrderCancelled, 1).await;
    assert_eq!(
        events[0].payload,
        serde_json::json!({ "id": id, "version": 1, "ticket": { "id": ticket } })
    );

    // Again: still 204, nothing more published.
    assert_eq!(app.api.delete(&path, Some(&alice)).await.status(), 204);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        stored_events(&app.bus, Subject::OrderCancelled).await.len(),
        1
    );

    // The ticket can be ordered again.
    let (_, bob) = testkit::signed_in();
    assert_eq!(app.order(&ticket, &bob).await.0, 201);
}

#[tokio::test]
async fn a_completed_order_cannot_be_cancelled() {
    let app = spawn_app().await;
    let ticket = app.replicated_ticket(5.0).await;
    let (_, alice) = testkit::signed_in();
    let (_, order) = app.order(&ticket, &alice).await;
    let id = order["id"].as_str().unwrap().to_owned();
    app.bus
        .publish(&PaymentCreated {
            id: "pay1".into(),
            order_id: id.clone(),
            stripe_id: "ch_1".into(),
        })
        .await
        .unwrap();
    eventually("the order to complete", || async {
        (app.order_status(&id).await == "complete").then_some(())
    })
    .await;
    let (status, body) = status_and_json(
        app.api
            .delete(&format!("/api/orders/{id}"), Some(&alice))
            .await,
    )
    .await;
    assert_eq!(
        (status, error_messages(&body)),
        (400, vec!["Cannot cancel a completed order".to_owned()])
    );
}
