use common::testkit::{self, status_and_json};
use serde_json::{Value, json};

use crate::helpers::{session_cookie, spawn_app};

#[tokio::test]
async fn the_signed_up_user_is_the_current_user() {
    let app = spawn_app().await;
    let signup = app.signup("me@test.com", "password").await;
    let cookie = session_cookie(&signup).unwrap();
    let (_, created) = status_and_json(signup).await;
    let (status, body) =
        status_and_json(app.api.get("/api/users/currentuser", Some(&cookie)).await).await;
    assert_eq!(status, 200);
    let user = &body["currentUser"];
    assert_eq!(user["email"], "me@test.com");
    assert_eq!(user["id"], created["id"]);
    assert!(user["exp"].as_i64().unwrap() > user["iat"].as_i64().unwrap());
}

#[tokio::test]
async fn without_a_valid_cookie_the_current_user_is_null() {
    let app = spawn_app().await;
    let forged = {
        // A token signed with another key.
        let sessions = common::Sessions::new("not-the-key", false);
        let token = sessions
            .issue(common::bson::oid::ObjectId::new(), "x@y.z")
            .unwrap();
        testkit::cookie_pair(sessions.session_cookie(&token).to_str().unwrap())
    };
    for cookie in [
        None,
        Some("session=garbage"),
        Some("session="),
        Some(forged.as_str()),
    ] {
        let (status, body) =
            status_and_json(app.api.get("/api/users/currentuser", cookie).await).await;
        assert_eq!(
            (status, body),
            (200, json!({ "currentUser": Value::Null })),
            "{cookie:?}"
        );
    }
}

#[tokio::test]
async fn signing_out_then_in_restores_the_session() {
    let app = spawn_app().await;
    app.signup("cycle@test.com", "password").await;
    let signout = app.api.post("/api/users/signout", &json!({}), None).await;
    let cleared = session_cookie(&signout).unwrap();
    let (_, body) =
        status_and_json(app.api.get("/api/users/currentuser", Some(&cleared)).await).await;
    assert_eq!(body["currentUser"], Value::Null);
    let signin = app
        .signin(json!({ "email": "cycle@test.com", "password": "password" }))
        .await;
    let cookie = session_cookie(&signin).unwrap();
    let (_, body) =
        status_and_json(app.api.get("/api/users/currentuser", Some(&cookie)).await).await;
    assert_eq!(body["currentUser"]["email"], "cycle@test.com");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let (status, body) = status_and_json(app.api.get("/api/users/nothing-here", None).await).await;
    assert_eq!(
        (status, body),
        (404, json!({ "errors": [{ "message": "Not Found" }] }))
    );
    let (status, body) = status_and_json(app.api.get("/api/users/signup", None).await).await;
    assert_eq!(status, 405);
    assert_eq!(testkit::error_messages(&body).len(), 1);
    let (status, body) = status_and_json(app.api.get("/readyz", None).await).await;
    assert_eq!((status, body["status"].clone()), (200, json!("ready")));
}
