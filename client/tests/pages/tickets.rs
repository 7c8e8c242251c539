use serde_json::json;

use crate::helpers::{
    BUYER_COOKIE, ORDER_ID, SELLER_ID, TICKET_ID, field_error, input_value, location, read,
    spawn_app, ticket,
};

const SELLER_COOKIE: &str = "session=seller-session";

fn ticket_path() -> String {
    format!("/tickets/{TICKET_ID}")
}

fn api_ticket() -> String {
    format!("GET /api/tickets/{TICKET_ID}")
}

#[tokio::test]
async fn the_sell_form_is_for_signed_in_visitors() {
    let app = spawn_app().await;
    let (status, html) = app.page("/tickets/new", None).await;
    assert_eq!(status, 401);
    assert!(html.contains("<h1>Please sign in</h1>"));
    assert!(html.contains("<a href=\"/auth/signin\">Sign in</a>"));

    app.api.sign_in_seller();
    let (status, html) = app.page("/tickets/new", Some(SELLER_COOKIE)).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Sell a ticket</h1>"));
    assert!(html.contains("<form method=\"post\" action=\"/tickets/new\""));
    assert!(html.contains("<label for=\"title\">Title</label>"));
    assert!(html.contains("<label for=\"price\">Price in US dollars</label>"));
    assert!(html.contains("type=\"number\""));
    assert!(html.contains("step=\"0.01\""));
    assert!(
        html.contains("data-money"),
        "the script formats the price to two decimals"
    );
}

#[tokio::test]
async fn selling_a_ticket_posts_title_and_price_and_shows_the_ticket() {
    let app = spawn_app().await;
    app.api.answer("POST /api/tickets", 201, ticket(0, 12.5));
    let response = app
        .submit(
            "/tickets/new",
            &[("title", "Concert"), ("price", "12.50")],
            Some(SELLER_COOKIE),
        )
        .await;
    assert_eq!(location(&response), ticket_path());
    let sent = &app.api.requests_to("POST /api/tickets")[0];
    assert_eq!(sent.body, json!({ "title": "Concert", "price": "12.50" }));
    assert_eq!(sent.cookie.as_deref(), Some(SELLER_COOKIE));
}

#[tokio::test]
async fn sell_errors_are_shown_next_to_their_fields() {
    let app = spawn_app().await;
    app.api.sign_in_seller().refuse(
        "POST /api/tickets",
        400,
        json!([
            { "message": "Title is required", "field": "title" },
            { "message": "Price must be greater than 0", "field": "price" }
        ]),
    );
    let (status, html) = read(
        app.submit(
            "/tickets/new",
            &[("title", " "), ("price", "-3")],
            Some(SELLER_COOKIE),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        field_error(&html, "title").as_deref(),
        Some("Title is required")
    );
    assert_eq!(
        field_error(&html, "price").as_deref(),
        Some("Price must be greater than 0")
    );
    assert_eq!(input_value(&html, "price").as_deref(), Some("-3"));
    assert!(
        html.contains("Sell tickets"),
        "the header still knows the seller"
    );
}

#[tokio::test]
async fn anonymous_visitors_see_the_ticket_and_are_asked_to_sign_in_to_buy() {
    let app = spawn_app().await;
    app.api.answer(&api_ticket(), 200, ticket(3, 12.5));
    let (status, html) = app.page(&ticket_path(), None).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Concert</h1>"));
    assert!(html.contains("$12.50"));
    assert!(!html.contains("/purchase"));
    assert!(html.contains("to buy this ticket"));
}

#[tokio::test]
async fn buyers_get_a_purchase_form_carrying_the_version_they_saw() {
    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .answer(&api_ticket(), 200, ticket(3, 12.5));
    let (status, html) = app.page(&ticket_path(), Some(BUYER_COOKIE)).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!(
        "<form method=\"post\" action=\"/tickets/{TICKET_ID}/purchase\">"
    )));
    assert_eq!(input_value(&html, "ticketVersion").as_deref(), Some("3"));
    assert!(html.contains("<button type=\"submit\">Purchase</button>"));
    assert!(!html.contains("/edit"));
}

#[tokio::test]
async fn the_seller_gets_an_edit_link_instead_of_a_purchase_button() {
    let app = spawn_app().await;
    app.api
        .sign_in_seller()
        .answer(&api_ticket(), 200, ticket(0, 12.5));
    let (_, html) = app.page(&ticket_path(), Some(SELLER_COOKIE)).await;
    assert!(html.contains(&format!(
        "<a href=\"/tickets/{TICKET_ID}/edit\">Edit it</a>"
    )));
    assert!(!html.contains("/purchase"));
}

#[tokio::test]
async fn a_reserved_ticket_cannot_be_bought() {
    let app = spawn_app().await;
    let mut reserved = ticket(1, 12.5);
    reserved["orderId"] = json!(ORDER_ID);
    app.api.sign_in_buyer().answer(&api_ticket(), 200, reserved);
    let (_, html) = app.page(&ticket_path(), Some(BUYER_COOKIE)).await;
    assert!(html.contains("This ticket is reserved"));
    assert!(!html.contains("/purchase"));
}

#[tokio::test]
async fn purchasing_orders_the_version_seen_and_goes_to_the_order() {
    let app = spawn_app().await;
    app.api.answer(
        "POST /api/orders",
        201,
        crate::helpers::order("created", 15),
    );
    let response = app
        .submit(
            &format!("{}/purchase", ticket_path()),
            &[("ticketVersion", "3")],
            Some(BUYER_COOKIE),
        )
        .await;
    assert_eq!(location(&response), format!("/orders/{ORDER_ID}"));
    let sent = &app.api.requests_to("POST /api/orders")[0];
    assert_eq!(
        sent.body,
        json!({ "ticketId": TICKET_ID, "ticketVersion": 3 })
    );
    assert_eq!(sent.cookie.as_deref(), Some(BUYER_COOKIE));
}

#[tokio::test]
async fn a_ticket_that_changed_shows_the_new_price_and_asks_again() {
    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .refuse(
            "POST /api/orders",
            409,
            json!([{ "message": "Ticket has changed" }]),
        )
        .answer(&api_ticket(), 200, ticket(4, 99.0));
    let (status, html) = read(
        app.submit(
            &format!("{}/purchase", ticket_path()),
            &[("ticketVersion", "3")],
            Some(BUYER_COOKIE),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409);
    assert!(html.contains("it now costs $99.00"));
    assert!(html.contains("Press Purchase again"));
    assert_eq!(
        input_value(&html, "ticketVersion").as_deref(),
        Some("4"),
        "confirming buys the new version"
    );
}

#[tokio::test]
async fn an_already_reserved_ticket_says_so() {
    let app = spawn_app().await;
    let mut reserved = ticket(1, 12.5);
    reserved["orderId"] = json!("0000000000000000000000dd");
    app.api
        .sign_in_buyer()
        .refuse(
            "POST /api/orders",
            400,
            json!([{ "message": "Ticket is already reserved" }]),
        )
        .answer(&api_ticket(), 200, reserved);
    let (status, html) = read(
        app.submit(
            &format!("{}/purchase", ticket_path()),
            &[("ticketVersion", "0")],
            Some(BUYER_COOKIE),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        html.contains(
            "<div class=\"notice error\" role=\"alert\">Ticket is already reserved</div>"
        )
    );
}

#[tokio::test]
async fn purchasing_signed_out_is_a_sign_in_page() {
    let app = spawn_app().await;
    app.api.refuse(
        "POST /api/orders",
        401,
        json!([{ "message": "Not authorized" }]),
    );
    let (status, html) = read(
        app.submit(
            &format!("{}/purchase", ticket_path()),
            &[("ticketVersion", "0")],
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);
    assert!(html.contains("<h1>Please sign in</h1>"));
}

#[tokio::test]
async fn an_unknown_ticket_is_a_404_page() {
    let app = spawn_app().await;
    let (status, html) = app.page(&ticket_path(), None).await;
    assert_eq!(status, 404);
    assert!(html.contains("<h1>Page not found</h1>"));
}

#[tokio::test]
async fn the_seller_edits_a_ticket_with_a_prefilled_form() {
    let app = spawn_app().await;
    app.api
        .sign_in_seller()
        .answer(&api_ticket(), 200, ticket(0, 12.5));
    let (status, html) = app
        .page(&format!("{}/edit", ticket_path()), Some(SELLER_COOKIE))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Edit ticket</h1>"));
    assert!(html.contains(&format!("action=\"/tickets/{TICKET_ID}/edit\"")));
    assert_eq!(input_value(&html, "title").as_deref(), Some("Concert"));
    assert_eq!(input_value(&html, "price").as_deref(), Some("12.50"));

    app.api.answer(
        &format!("PUT /api/tickets/{TICKET_ID}"),
        200,
        ticket(1, 15.0),
    );
    let response = app
        .submit(
            &format!("{}/edit", ticket_path()),
            &[("title", "Concert"), ("price", "15")],
            Some(SELLER_COOKIE),
        )
        .await;
    assert_eq!(location(&response), ticket_path());
    assert_eq!(
        app.api
            .requests_to(&format!("PUT /api/tickets/{TICKET_ID}"))[0]
            .body,
        json!({ "title": "Concert", "price": "15" })
    );
}

#[tokio::test]
async fn a_reserved_ticket_can_no_longer_be_edited() {
    let app = spawn_app().await;
    let mut reserved = ticket(1, 12.5);
    reserved["orderId"] = json!(ORDER_ID);
    app.api
        .sign_in_seller()
        .answer(&api_ticket(), 200, reserved)
        .refuse(
            &format!("PUT /api/tickets/{TICKET_ID}"),
            400,
            json!([{ "message": "Cannot edit a reserved ticket" }]),
        );
    let (status, html) = app
        .page(&format!("{}/edit", ticket_path()), Some(SELLER_COOKIE))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("can no longer be edited"));
    assert!(!html.contains("<form method=\"post\" action=\"/tickets/"));

    // A form opened before the ticket was reserved is refused by the API.
    let (status, html) = read(
        app.submit(
            &format!("{}/edit", ticket_path()),
            &[("title", "X"), ("price", "1")],
            Some(SELLER_COOKIE),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("<li>Cannot edit a reserved ticket</li>"));
}

#[tokio::test]
async fn only_the_seller_may_open_the_edit_form() {
    let app = spawn_app().await;
    app.api
        .sign_in_buyer()
        .answer(&api_ticket(), 200, ticket(0, 12.5));
    let (status, html) = app
        .page(&format!("{}/edit", ticket_path()), Some(BUYER_COOKIE))
        .await;
    assert_eq!(status, 401);
    assert!(html.contains("<h1>Please sign in</h1>"));
    assert!(!html.contains(SELLER_ID));
}
