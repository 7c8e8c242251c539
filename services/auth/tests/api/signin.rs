use common::testkit::{error_messages, field_errors, status_and_json};
use serde_json::json;

use crate::helpers::{session_cookie, spawn_app};

#[tokio::test]
async fn signing_in_with_the_right_password_is_200_with_a_cookie() {
    let app = spawn_app().await;
    app.signup("in@test.com", "password").await;
    let response = app
        .signin(json!({ "email": " IN@test.com", "password": "password" }))
        .await;
    assert!(session_cookie(&response).is_some());
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["email"], "in@test.com");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_the_same() {
    let app = spawn_app().await;
    app.signup("known@test.com", "password").await;
    let wrong_password = status_and_json(
        app.signin(json!({ "email": "known@test.com", "password": "nope" }))
            .await,
    )
    .await;
    let unknown_email = status_and_json(
        app.signin(json!({ "email": "who@test.com", "password": "password" }))
            .await,
    )
    .await;
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password.0, 400);
    assert_eq!(error_messages(&wrong_password.1), ["Invalid credentials"]);
}

#[tokio::test]
async fn missing_fields_are_400_per_field() {
    let app = spawn_app().await;
    let (status, body) = status_and_json(
        app.signin(json!({ "email": "bad", "password": "  " }))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        field_errors(&body),
        [
            ("email".to_owned(), "Email must be valid".to_owned()),
            (
                "password".to_owned(),
                "You must supply a password".to_owned()
            )
        ]
    );
    let (status, _) = status_and_json(
        app.signin(json!({ "email": "a@b.com", "password": { "$ne": null } }))
            .await,
    )
    .await;
    assert_eq!(status, 400);
}
