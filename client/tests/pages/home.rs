use serde_json::json;

use crate::helpers::{API_HOST, BUYER_COOKIE, TICKET_ID, spawn_app, spawn_app_without_api};

#[tokio::test]
async fn anonymous_visitors_see_the_tickets_and_sign_up_links() {
    let app = spawn_app().await;
    app.api.answer(
        "GET /api/tickets",
        200,
        json!([
            { "id": TICKET_ID, "title": "Concert", "price": 20, "userId": "u", "version": 0 },
            { "id": "8888888888888888888888bb", "title": "Opera & <Ballet>", "price": 12.5, "userId": "u", "version": 2 }
        ]),
    );
    let (status, html) = app.page("/", None).await;
    assert_eq!(status, 200);
    assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(html.contains("<h1>Tickets for sale</h1>"));
    assert!(html.contains(&format!("<a href=\"/tickets/{TICKET_ID}\">Concert</a>")));
    assert!(html.contains("$20.00"), "prices have two decimals");
    assert!(html.contains("$12.50"));
    assert!(
        html.contains("Opera &#38; &#60;Ballet&#62;")
            || html.contains("Opera &amp; &lt;Ballet&gt;"),
        "titles are escaped"
    );
    assert!(html.contains("<a href=\"/auth/signup\">Sign up</a>"));
    assert!(html.contains("<a href=\"/auth/signin\">Sign in</a>"));
    assert!(!html.contains("Sign out"));
    assert!(
        app.api.requests_to("GET /api/users/currentuser").is_empty(),
        "without a session cookie nobody is asked who is signed in"
    );
}

#[tokio::test]
async fn signed_in_visitors_get_the_seller_links_and_their_cookie_goes_to_the_api() {
    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .answer("GET /api/tickets", 200, json!([]));
    let (status, html) = app.page("/", Some(BUYER_COOKIE)).await;
    assert_eq!(status, 200);
    assert!(html.contains("<a href=\"/tickets/new\">Sell tickets</a>"));
    assert!(html.contains("<a href=\"/orders\">My orders</a>"));
    assert!(html.contains("action=\"/auth/signout\""));
    assert!(html.contains(">Sign out</button>"));
    assert!(html.contains("buyer@test.dev"));
    assert!(!html.contains(">Sign up<"));
    assert!(html.contains("No tickets are for sale right now."));
    assert!(html.contains("<a href=\"/tickets/new\">Sell one</a>"));
    for request in app.api.requests() {
        assert_eq!(
            request.cookie.as_deref(),
            Some(BUYER_COOKIE),
            "{}",
            request.path
        );
        assert_eq!(
            request.host.as_deref(),
            Some(API_HOST),
            "the ingress routes on the Host header"
        );
    }
}

#[tokio::test]
async fn a_failing_api_is_a_friendly_page_not_a_raw_error() {
    let app = spawn_app().await;
    app.api.answer(
        "GET /api/tickets",
        500,
        json!({ "errors": [{ "message": "secret stack trace" }] }),
    );
    let (status, html) = app.page("/", None).await;
    assert_eq!(status, 500);
    assert!(html.contains("<h1>Something went wrong</h1>"));
    assert!(!html.contains("secret stack trace"));

    let app = spawn_app().await;
    app.api.answer(
        "GET /api/tickets",
        503,
        json!({ "errors": [{ "message": "Service unavailable" }] }),
    );
    let (status, html) = app.page("/", None).await;
    assert_eq!(status, 503);
    assert!(html.contains("<h1>Temporarily unavailable</h1>"));

    let app = spawn_app().await;
    app.api
        .answer("GET /api/tickets", 200, json!({ "not": "a list" }));
    let (status, html) = app.page("/", None).await;
    assert_eq!(status, 500);
    assert!(html.contains("Please try again in a moment."));
}

#[tokio::test]
async fn an_unreachable_api_is_a_friendly_503() {
    let app = spawn_app_without_api().await;
    let (status, html) = app.page("/", Some(BUYER_COOKIE)).await;
    assert_eq!(status, 503);
    assert!(html.contains("The ticketing service cannot be reached right now."));
}
