//! `GET /metrics` on the metrics port: orders by outcome and the listeners' deliveries.

use common::metrics::{CONSUMER_DELIVERED, CONSUMER_PENDING, ORDERS};
use common::testkit;

use crate::helpers::spawn_app;

#[tokio::test]
async fn orders_are_counted_by_outcome() {
    let app = spawn_app().await;
    let outcome = |outcome| [("outcome", outcome)];
    let replicas = [("consumer", "orders-ticket-created")];
    let before_created = app.metrics.value(ORDERS, &outcome("created")).await;
    let before_cancelled = app.metrics.value(ORDERS, &outcome("cancelled")).await;
    let before_delivered = app.metrics.value(CONSUMER_DELIVERED, &replicas).await;

    let (_, cookie) = testkit::signed_in();
    let kept = app.replicated_ticket(10.0).await;
    let given_up = app.replicated_ticket(20.0).await;
    assert_eq!(app.order(&kept, &cookie).await.0, 201);
    let (status, order) = app.order(&given_up, &cookie).await;
    assert_eq!(status, 201);
    let id = order["id"].as_str().unwrap();
    let path = format!("/api/orders/{id}");
    assert_eq!(app.api.delete(&path, Some(&cookie)).await.status(), 204);

    assert_eq!(
        app.metrics.value(ORDERS, &outcome("created")).await,
        before_created + 2.0
    );
    assert_eq!(
        app.metrics.value(ORDERS, &outcome("cancelled")).await,
        before_cancelled + 1.0
    );
    app.metrics
        .reaches(CONSUMER_DELIVERED, &replicas, before_delivered + 2.0)
        .await;
    // Read from JetStream every few seconds: nothing is left once both are handled.
    assert!(
        app.metrics.text().await.contains(CONSUMER_PENDING),
        "the consumer's backlog is reported"
    );
}
