//! `GET /metrics` on the metrics port: payments by outcome.

use common::metrics::PAYMENTS;
use common::testkit;

use crate::helpers::spawn_app;

#[tokio::test]
async fn payments_are_counted_by_outcome() {
    let app = spawn_app().await;
    let outcome = |outcome| [("outcome", outcome)];
    let before_succeeded = app.metrics.value(PAYMENTS, &outcome("succeeded")).await;
    let before_declined = app.metrics.value(PAYMENTS, &outcome("declined")).await;

    let (user, cookie) = testkit::signed_in();
    let order = app.replicated_order(user, 15.0).await;
    assert_eq!(app.pay(&order, "tok_chargeDeclined", &cookie).await.0, 402);
    assert_eq!(app.pay(&order, "tok_visa", &cookie).await.0, 201);

    assert_eq!(
        app.metrics.value(PAYMENTS, &outcome("declined")).await,
        before_declined + 1.0
    );
    assert_eq!(
        app.metrics.value(PAYMENTS, &outcome("succeeded")).await,
        before_succeeded + 1.0
    );
}
