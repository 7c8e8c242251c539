use common::bson::doc;
use common::testkit::{error_messages, field_errors, status_and_json};
use futures::future::join_all;
use serde_json::json;

use crate::helpers::{set_cookie, spawn_app};

#[tokio::test]
async fn a_valid_signup_is_201_with_the_user_and_a_session_cookie() {
    let app = spawn_app().await;
    let response = app.signup("test@test.com", "password").await;
    let cookie = set_cookie(&response).expect("a session cookie");
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 201);
    assert_eq!(body["email"], "test@test.com");
    assert_eq!(body["id"].as_str().unwrap().len(), 24);
    assert!(body.get("password").is_none());
    for part in ["session=", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Secure"));
}

#[tokio::test]
async fn the_password_is_stored_as_an_argon2id_phc_string() {
    let app = spawn_app().await;
    assert_eq!(app.signup("Hash@Test.com ", "password").await.status(), 201);
    let stored = app
        .db
        .collection::<common::bson::Document>("users")
        .find_one(doc! { "email": "hash@test.com" })
        .await
        .unwrap()
        .expect("the user is stored with a normalised email");
    let password = stored.get_str("password").unwrap();
    assert!(password.starts_with("$argon2id$v=19$"), "{password}");
    assert!(!password.contains("password"));
}

#[tokio::test]
async fn invalid_input_is_400_with_one_entry_per_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "email": "not-an-email", "password": "password" }),
            vec![("email", "Email must be valid")],
        ),
        (
            json!({ "email": "a@b.com", "password": "abc" }),
            vec![("password", "Password must be between 4 and 20 characters")],
        ),
        (
            json!({ "email": "a@b.com", "password": "   abc    " }),
            vec![("password", "Password must be between 4 and 20 characters")],
        ),
        (
            json!({ "email": "a@b.com", "password": "x".repeat(21) }),
            vec![("password", "Password must be between 4 and 20 characters")],
        ),
        (
            json!({ "email": "a@b.com" }),
            vec![("password", "Password must be between 4 and 20 characters")],
        ),
        (
            json!({}),
            vec![
                ("email", "Email must be valid"),
                ("password", "Password must be between 4 and 20 characters"),
            ],
        ),
        (
            json!({ "email": { "$ne": null }, "password": { "$ne": null } }),
            vec![
                ("email", "Email must be valid"),
                ("password", "Password must be between 4 and 20 characters"),
            ],
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) =
            status_and_json(app.api.post("/api/users/signup", &body, None).await).await;
        assert_eq!(status, 400, "{body}");
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(f, m)| (f.to_owned(), m.to_owned()))
            .collect();
        assert_eq!(field_errors(&answer), expected, "{body}");
    }
    let users = app.db.collection::<common::bson::Document>("users");
    assert_eq!(users.count_documents(doc! {}).await.unwrap(), 0);
}

#[tokio::test]
async fn a_duplicate_email_is_refused_even_when_it_differs_in_case() {
    let app = spawn_app().await;
    assert_eq!(app.signup("dup@test.com", "password").await.status(), 201);
    for email in ["dup@test.com", "DUP@Test.com", "  dup@test.com  "] {
        let (status, body) = status_and_json(app.signup(email, "password").await).await;
        assert_eq!(status, 400);
        assert_eq!(error_messages(&body), ["Email in use"]);
    }
}

#[tokio::test]
async fn ten_concurrent_signups_with_one_email_create_exactly_one_user() {
    let app = spawn_app().await;
    let statuses: Vec<u16> = join_all((0..10).map(|_| app.signup("race@test.com", "password")))
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 400).count(),
        9,
        "{statuses:?}"
    );
    let users = app.db.collection::<common::bson::Document>("users");
    assert_eq!(
        users
            .count_documents(doc! { "email": "race@test.com" })
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_in_the_error_shape() {
    let app = spawn_app().await;
    let raw = |body: &'static str, content_type: &'static str| {
        app.api
            .request(reqwest::Method::POST, "/api/users/signup", None)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for response in [
        raw("{not json", "application/json").await.unwrap(),
        raw("email=a@b.com", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        raw("[1,2]", "application/json").await.unwrap(),
    ] {
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 400);
        assert_eq!(error_messages(&body).len(), 1, "{body}");
    }
    let huge = format!(
        r#"{{"email":"{}","password":"password"}}"#,
        "a".repeat(70 * 1024)
    );
    let (status, body) = status_and_json(
        raw(Box::leak(huge.into_boxed_str()), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(error_messages(&body).len(), 1);
}
