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

#[tokio::test]
async fn signing_out_revokes_the_session_and_not_the_others() {
    let app = spawn_app().await;
    let first = app.signup("revoked@test.dev", "secret1").await;
    let old = crate::helpers::session_cookie(&first).expect("a session");
    let second = app
        .signin(json!({ "email": "revoked@test.dev", "password": "secret1" }))
        .await;
    let other_device = crate::helpers::session_cookie(&second).expect("a session");

    let response = app
        .api
        .post("/api/users/signout", &json!({}), Some(&old))
        .await;
    assert_eq!(response.status(), 200);
    let (_, me) = status_and_json(app.api.get("/api/users/currentuser", Some(&old)).await).await;
    assert_eq!(me, json!({ "currentUser": null }), "the old cookie is dead");
    let (_, me) = status_and_json(
        app.api
            .get("/api/users/currentuser", Some(&other_device))
            .await,
    )
    .await;
    assert_eq!(
        me["currentUser"]["email"], "revoked@test.dev",
        "the other session lives"
    );

    // A second instance (another replica, or this one restarted) knows it too.
    let (_, me) = status_and_json(
        app.twin()
            .await
            .get("/api/users/currentuser", Some(&old))
            .await,
    )
    .await;
    assert_eq!(me, json!({ "currentUser": null }));
}
