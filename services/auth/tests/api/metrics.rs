//! `GET /metrics` on the metrics port: requests by route and status, sign-ups and failed sign-ins.

use common::metrics::{HTTP_REQUEST_DURATION, HTTP_REQUESTS, SIGNINS_FAILED, SIGNUPS};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn sign_ups_failed_sign_ins_and_requests_are_counted() {
    let app = spawn_app().await;
    let signup = [("route", "/api/users/signup"), ("status", "201")];
    let refused = [("route", "/api/users/signin"), ("status", "400")];
    let before = (
        app.metrics.value(SIGNUPS, &[]).await,
        app.metrics.value(SIGNINS_FAILED, &[]).await,
        app.metrics.value(HTTP_REQUESTS, &signup).await,
        app.metrics.value(HTTP_REQUESTS, &refused).await,
    );

    assert_eq!(
        app.signup("metrics@test.dev", "password").await.status(),
        201
    );
    let wrong = json!({ "email": "metrics@test.dev", "password": "wrong-password" });
    assert_eq!(app.signin(wrong).await.status(), 400);
    let unknown = json!({ "email": "nobody@test.dev", "password": "password" });
    assert_eq!(app.signin(unknown).await.status(), 400);
    let right = json!({ "email": "metrics@test.dev", "password": "password" });
    assert_eq!(app.signin(right).await.status(), 200);
    assert_eq!(app.api.get("/no/such/route", None).await.status(), 404);

    let text = app.metrics.text().await;
    let value = |name, labels: &[(&str, &str)]| common::metrics::sample(&text, name, labels);
    assert_eq!(value(SIGNUPS, &[]), Some(before.0 + 1.0), "{text}");
    assert_eq!(value(SIGNINS_FAILED, &[]), Some(before.1 + 2.0), "{text}");
    assert_eq!(
        value(HTTP_REQUESTS, &signup),
        Some(before.2 + 1.0),
        "{text}"
    );
    assert_eq!(
        value(HTTP_REQUESTS, &refused),
        Some(before.3 + 2.0),
        "{text}"
    );
    assert!(
        value(HTTP_REQUESTS, &[("route", "unmatched"), ("status", "404")]) >= Some(1.0),
        "a path no route matches is one series, not one per path: {text}"
    );
    assert!(!text.contains("/no/such/route"), "{text}");
    let latency = format!("{HTTP_REQUEST_DURATION}_count");
    let signins = [("method", "POST"), ("route", "/api/users/signin")];
    assert!(value(&latency, &signins) >= Some(3.0), "{text}");
    assert!(
        text.contains(&format!("{HTTP_REQUEST_DURATION}_bucket{{")),
        "a histogram with buckets: {text}"
    );
}
