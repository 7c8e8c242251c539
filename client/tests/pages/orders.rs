use serde_json::json;

use crate::helpers::{
    BUYER_COOKIE, ORDER_ID, input_value, location, order, read, spawn_app, spawn_app_with_stripe,
};

fn order_path() -> String {
    format!("/orders/{ORDER_ID}")
}

fn api_order() -> String {
    format!("GET /api/orders/{ORDER_ID}")
}

#[tokio::test]
async fn my_orders_lists_each_order_with_its_status() {
    let app = spawn_app().await;
    let mut paid = order("complete", 5);
    paid["id"] = json!("0000000000000000000000c1");
    let mut cancelled = order("cancelled", -5);
    cancelled["id"] = json!("0000000000000000000000c2");
    app.api.sign_in_buyer().answer(
        "GET /api/orders",
        200,
        json!([order("awaiting:payment", 10), paid, cancelled]),
    );
    let (status, html) = app.page("/orders", Some(BUYER_COOKIE)).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>My orders</h1>"));
    assert!(html.contains(&format!("<a href=\"/orders/{ORDER_ID}\">Concert</a>")));
    assert!(html.contains("data-status=\"awaiting:payment\">Awaiting payment</span>"));
    assert!(html.contains("data-status=\"complete\">Complete</span>"));
    assert!(html.contains("data-status=\"cancelled\">Cancelled</span>"));
    assert!(html.contains("$20.00"));
}

#[tokio::test]
async fn my_orders_needs_a_signed_in_visitor() {
    let app = spawn_app().await;
    app.api.refuse(
        "GET /api/orders",
        401,
        json!([{ "message": "Not authorized" }]),
    );
    let (status, html) = app.page("/orders", None).await;
    assert_eq!(status, 401);
    assert!(html.contains("<h1>Please sign in</h1>"));
}

#[tokio::test]
async fn an_open_order_shows_a_countdown_and_the_test_cards() {
    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .answer(&api_order(), 200, order("created", 10));
    let (status, html) = app.page(&order_path(), Some(BUYER_COOKIE)).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Order for Concert</h1>"));
    let seconds: i64 = html
        .split("data-seconds-left=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((590..=600).contains(&seconds), "{seconds}");
    assert!(html.contains("role=\"timer\""));
    assert!(
        html.contains(">9 minutes ") || html.contains(">10 minutes<"),
        "the time left is rendered"
    );
    assert!(html.contains(&format!(
        "<form method=\"post\" action=\"/orders/{ORDER_ID}/pay\""
    )));
    assert!(html.contains("value=\"tok_visa\" checked"));
    assert!(html.contains("value=\"tok_chargeDeclined\""));
    assert!(html.contains("<label for=\"token-visa\">"));
    assert!(html.contains("Pay $20.00"));
    assert!(
        !html.contains("js.stripe.com"),
        "no external script without a Stripe key"
    );
}

#[tokio::test]
async fn with_a_publishable_key_stripe_js_takes_the_card() {
    let app = spawn_app_with_stripe(Some("pk_live_abc")).await;
    app.api
        .sign_in_buyer()
        .answer(&api_order(), 200, order("created", 10));
    let (_, html) = app.page(&order_path(), Some(BUYER_COOKIE)).await;
    assert!(html.contains("<script src=\"https://js.stripe.com/v3/\" defer></script>"));
    assert!(html.contains("data-stripe-key=\"pk_live_abc\""));
    assert!(
        !html.contains("tok_visa"),
        "test cards are useless with a live key"
    );

    let app = spawn_app_with_stripe(Some("pk_test_abc")).await;
    app.api
        .sign_in_buyer()
        .answer(&api_order(), 200, order("created", 10));
    let (_, html) = app.page(&order_path(), Some(BUYER_COOKIE)).await;
    assert!(html.contains("data-stripe-key=\"pk_test_abc\""));
    assert!(
        html.contains("tok_visa"),
        "a test key also offers the test cards"
    );
}

#[tokio::test]
async fn paying_waits_for_the_order_to_complete_and_shows_it() {
    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .answer("POST /api/payments", 201, json!({ "id": "pay" }))
        .answer(&api_order(), 200, order("created", 10))
        .answer(&api_order(), 200, order("complete", 10));
    let response = app
        .submit(
            &format!("{}/pay", order_path()),
            &[("token", "tok_visa")],
            Some(BUYER_COOKIE),
        )
        .await;
    assert_eq!(location(&response), format!("{}?paid=1", order_path()));
    let sent = &app.api.requests_to("POST /api/payments")[0];
    assert_eq!(
        sent.body,
        json!({ "orderId": ORDER_ID, "token": "tok_visa" })
    );
    assert_eq!(sent.cookie.as_deref(), Some(BUYER_COOKIE));
    assert!(
        app.api.requests_to(&api_order()).len() >= 2,
        "it polled the order"
    );

    let (status, html) = app
        .page(&format!("{}?paid=1", order_path()), Some(BUYER_COOKIE))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Payment received. Your order is complete."));
    assert!(html.contains("data-status=\"complete\">Complete</span>"));
    assert!(!html.contains("/pay\""), "a complete order is not payable");
    assert!(!html.contains("http-equiv=\"refresh\""));
}

#[tokio::test]
async fn a_payment_not_yet_confirmed_refreshes_until_it_is() {
    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .answer(&api_order(), 200, order("created", 10));
    let (status, html) = app
        .page(&format!("{}?paid=1", order_path()), Some(BUYER_COOKIE))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Payment received, confirming your order"));
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"2\">"));
    assert!(
        !html.contains("/pay\""),
        "no second payment while confirming"
    );
}

#[tokio::test]
async fn a_declined_card_shows_the_processors_message_and_stays_payable() {
    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .refuse(
            "POST /api/payments",
            402,
            json!([{ "message": "Your card was declined." }]),
        )
        .answer(&api_order(), 200, order("created", 10));
    let (status, html) = read(
        app.submit(
            &format!("{}/pay", order_path()),
            &[("token", "tok_chargeDeclined")],
            Some(BUYER_COOKIE),
        )
        .await,
    )
    .await;
    assert_eq!(status, 402);
    assert!(html.contains(
        "<div class=\"notice error\" role=\"alert\">Payment failed: Your card was declined.</div>"
    ));
    assert!(html.contains(&format!("action=\"/orders/{ORDER_ID}/pay\"")));
    assert_eq!(input_value(&html, "token").as_deref(), Some("tok_visa"));
}

#[tokio::test]
async fn an_expired_or_cancelled_order_cannot_be_paid() {
    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .answer(&api_order(), 200, order("created", -1));
    let (_, html) = app.page(&order_path(), Some(BUYER_COOKIE)).await;
    assert!(html.contains("This order has expired."));
    assert!(!html.contains("/pay\""));

    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .answer(&api_order(), 200, order("cancelled", -1));
    let (_, html) = app.page(&order_path(), Some(BUYER_COOKIE)).await;
    assert!(html.contains("This order was cancelled."));
    assert!(html.contains("data-status=\"cancelled\""));
    assert!(!html.contains("/pay\""));
}

#[tokio::test]
async fn someone_elses_order_is_not_shown() {
    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .refuse(&api_order(), 401, json!([{ "message": "Not authorized" }]));
    let (status, html) = app.page(&order_path(), Some(BUYER_COOKIE)).await;
    assert_eq!(status, 401);
    assert!(!html.contains("Concert"));
}

#[tokio::test]
async fn an_order_refused_because_the_ticket_changed_says_so() {
    let app = spawn_app().await;
    let mut refused = order("cancelled", 10);
    refused["reason"] = json!("ticket changed");
    app.api.sign_in_buyer().answer(&api_order(), 200, refused);
    let (status, html) = app.page(&order_path(), Some(BUYER_COOKIE)).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-status=\"cancelled\">Cancelled</span>"));
    assert!(html.contains("the seller changed the ticket before your reservation went through"));
    assert!(!html.contains("data-payment"));
}
