use serde_json::json;

use crate::helpers::{
    BUYER_COOKIE, field_error, input_value, location, read, set_cookies, spawn_app,
};

const SESSION: &str = "session=eyJqd3QiOiJ4In0=; path=/; samesite=lax; httponly";

#[tokio::test]
async fn the_signup_form_has_labelled_fields() {
    let app = spawn_app().await;
    let (status, html) = app.page("/auth/signup", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Sign up</h1>"));
    assert!(html.contains("<form method=\"post\" action=\"/auth/signup\""));
    assert!(html.contains("<label for=\"email\">Email address</label>"));
    assert!(html.contains("<input id=\"email\" name=\"email\" type=\"email\""));
    assert!(html.contains("<label for=\"password\">"));
    assert!(html.contains("type=\"password\" value=\"\" autocomplete=\"new-password\""));
    assert!(html.contains("<button type=\"submit\">Sign up</button>"));
    assert_eq!(field_error(&html, "email"), None);
}

#[tokio::test]
async fn the_signin_form_posts_to_signin() {
    let app = spawn_app().await;
    let (status, html) = app.page("/auth/signin", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Sign in</h1>"));
    assert!(html.contains("action=\"/auth/signin\""));
    assert!(html.contains("autocomplete=\"current-password\""));
}

#[tokio::test]
async fn signing_up_sends_json_and_passes_the_session_cookie_back_with_a_redirect_home() {
    let app = spawn_app().await;
    app.api.answer_with_cookie(
        "POST /api/users/signup",
        201,
        json!({ "id": "x", "email": "new@test.dev" }),
        SESSION,
    );
    let response = app
        .submit(
            "/auth/signup",
            &[("email", "new@test.dev"), ("password", "secret")],
            None,
        )
        .await;
    assert_eq!(location(&response), "/");
    assert_eq!(set_cookies(&response), [SESSION]);
    let sent = app.api.requests_to("POST /api/users/signup");
    assert_eq!(
        sent[0].body,
        json!({ "email": "new@test.dev", "password": "secret" })
    );
}

#[tokio::test]
async fn signup_errors_are_shown_next_to_their_fields() {
    let app = spawn_app().await;
    app.api.refuse(
        "POST /api/users/signup",
        400,
        json!([
            { "message": "Email must be valid", "field": "email" },
            { "message": "Password must be between 4 and 20 characters", "field": "password" }
        ]),
    );
    let response = app
        .submit(
            "/auth/signup",
            &[("email", "nope"), ("password", "x")],
            None,
        )
        .await;
    assert!(set_cookies(&response).is_empty());
    let (status, html) = read(response).await;
    assert_eq!(status, 400);
    assert_eq!(
        field_error(&html, "email").as_deref(),
        Some("Email must be valid")
    );
    assert_eq!(
        field_error(&html, "password").as_deref(),
        Some("Password must be between 4 and 20 characters")
    );
    assert!(html.contains("aria-invalid=\"true\""));
    assert_eq!(
        input_value(&html, "email").as_deref(),
        Some("nope"),
        "what was typed stays"
    );
    assert_eq!(
        input_value(&html, "password").as_deref(),
        Some(""),
        "a password is never echoed"
    );
}

#[tokio::test]
async fn errors_without_a_field_are_shown_above_the_form() {
    let app = spawn_app().await;
    app.api.refuse(
        "POST /api/users/signin",
        400,
        json!([{ "message": "Invalid credentials" }]),
    );
    let (status, html) = read(
        app.submit(
            "/auth/signin",
            &[("email", "a@b.dev"), ("password", "wrong")],
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("<div class=\"notice error\" role=\"alert\">"));
    assert!(html.contains("<li>Invalid credentials</li>"));
    assert_eq!(field_error(&html, "email"), None);
    assert!(html.contains("<h1>Sign in</h1>"));
}

#[tokio::test]
async fn too_many_attempts_are_told_on_the_form() {
    let app = spawn_app().await;
    app.api.refuse(
        "POST /api/users/signin",
        429,
        json!([{ "message": "Too many attempts; try again later" }]),
    );
    let (status, html) = read(
        app.submit(
            "/auth/signin",
            &[("email", "a@b.dev"), ("password", "guess")],
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 429);
    assert!(html.contains("<li>Too many attempts; try again later</li>"));
    assert!(html.contains("<h1>Sign in</h1>"));
    assert_eq!(input_value(&html, "email").as_deref(), Some("a@b.dev"));
}

#[tokio::test]
async fn a_form_with_missing_fields_lets_the_api_say_what_is_missing() {
    let app = spawn_app().await;
    app.api.refuse(
        "POST /api/users/signin",
        400,
        json!([{ "message": "You must supply a password", "field": "password" }]),
    );
    let (status, html) = read(
        app.submit("/auth/signin", &[("email", "a@b.dev")], None)
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        field_error(&html, "password").as_deref(),
        Some("You must supply a password")
    );
    assert_eq!(
        app.api.requests_to("POST /api/users/signin")[0].body,
        json!({ "email": "a@b.dev", "password": "" })
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_form_is_a_friendly_400() {
    let app = spawn_app().await;
    let response = app
        .web
        .request(reqwest::Method::POST, "/auth/signin", None)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, html) = read(response).await;
    assert_eq!(status, 400);
    assert!(html.contains("The form could not be read."));
    assert!(app.api.requests().is_empty());
}

#[tokio::test]
async fn signing_out_clears_the_cookie_and_goes_home() {
    let app = spawn_app().await;
    let cleared = "session=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT";
    app.api
        .answer_with_cookie("POST /api/users/signout", 200, json!({}), cleared);
    let by_button = app.submit("/auth/signout", &[], Some(BUYER_COOKIE)).await;
    assert_eq!(location(&by_button), "/");
    assert_eq!(set_cookies(&by_button), [cleared]);
    let calls = app.api.requests_to("POST /api/users/signout");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].cookie.as_deref(), Some(BUYER_COOKIE));
}

#[tokio::test]
async fn a_link_cannot_sign_anyone_out() {
    let app = spawn_app().await;
    let by_link = app.web.get("/auth/signout", Some(BUYER_COOKIE)).await;
    assert_eq!(by_link.status(), 405);
    assert!(set_cookies(&by_link).is_empty());
    assert!(app.api.requests_to("POST /api/users/signout").is_empty());
}

#[tokio::test]
async fn forms_posted_from_another_site_are_refused() {
    let app = spawn_app().await;
    app.api.sign_in_buyer();
    let ours = app.web.base.trim_end_matches('/').to_owned();
    for (header, source) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("referer", "https://evil.example/page"),
    ] {
        for path in ["/auth/signin", "/auth/signout", "/tickets/new"] {
            let response = app
                .web
                .request(reqwest::Method::POST, path, Some(BUYER_COOKIE))
                .header(header, source)
                .form(&[("email", "a@b.co"), ("password", "secret")])
                .send()
                .await
                .unwrap();
            let (status, html) = read(response).await;
            assert_eq!(status, 403, "{path} with {header}: {source}");
            assert!(html.contains("sent from another site"), "{html}");
        }
    }
    assert!(
        app.api
            .requests()
            .iter()
            .all(|call| call.method == reqwest::Method::GET),
        "no form reached the API"
    );
    // The site's own pages (Origin, or only Referer) still work.
    app.api.answer_with_cookie(
        "POST /api/users/signout",
        200,
        json!({}),
        "session=; path=/",
    );
    for (header, source) in [
        ("origin", ours.clone()),
        ("referer", format!("{ours}/orders")),
    ] {
        let response = app
            .web
            .request(reqwest::Method::POST, "/auth/signout", Some(BUYER_COOKIE))
            .header(header, source)
            .send()
            .await
            .unwrap();
        assert_eq!(location(&response), "/");
    }
}
