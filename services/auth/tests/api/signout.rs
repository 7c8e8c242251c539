use common::testkit::status_and_json;
use serde_json::json;

use crate::helpers::{set_cookie, spawn_app};

#[tokio::test]
async fn signing_out_clears_the_cookie() {
    let app = spawn_app().await;
    let response = app.api.post("/api/users/signout", &json!({}), None).await;
    let cookie = set_cookie(&response).expect("a Set-Cookie header");
    assert!(cookie.starts_with("session=;"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(cookie.contains("Expires="), "{cookie}");
    let (status, body) = status_and_json(response).await;
    assert_eq!((status, body), (200, json!({})));
}
