use chrono::{DateTime, Utc};
use common::events::Subject;
use common::testkit::{self, error_messages, field_errors, status_and_json, wait_for_events};
use futures::future::join_all;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn ordering_requires_a_user_and_a_well_formed_ticket_id() {
    let app = spawn_app().await;
    let (status, _) = status_and_json(
        app.api
            .post("/api/orders", &json!({ "ticketId": "x" }), None)
            .await,
    )
    .await;
    assert_eq!(status, 401);
    let (_, cookie) = testkit::signed_in();
    for body in [
        json!({}),
        json!({ "ticketId": "" }),
        json!({ "ticketId": "not-an-id" }),
        json!({ "ticketId": { "$ne": null } }),
    ] {
        let (status, answer) =
            status_and_json(app.api.post("/api/orders", &body, Some(&cookie)).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            field_errors(&answer),
            [(
                "ticketId".to_owned(),
                "TicketId must be provided".to_owned()
            )]
        );
    }
    let (status, _) = app
        .order(&common::bson::oid::ObjectId::new().to_hex(), &cookie)
        .await;
    assert_eq!(status, 404, "unknown ticket");
}

#[tokio::test]
async fn an_order_reserves_the_ticket_and_is_announced() {
    let app = spawn_app().await;
    let ticket_id = app.replicated_ticket(19.99).await;
    let (user, cookie) = testkit::signed_in();
    let before = Utc::now();
    let (status, order) = app.order(&ticket_id, &cookie).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "created");
    assert_eq!(order["userId"], user.to_hex());
    assert_eq!(order["version"], 0);
    assert_eq!(order["ticket"]["id"], ticket_id.as_str());
    assert_eq!(order["ticket"]["price"], json!(19.99));
    let expires: DateTime<Utc> = order["expiresAt"].as_str().unwrap().parse().unwrap();
    let window = (expires - before).num_seconds();
    assert!(
        (899..=901).contains(&window),
        "expires {window}s after creation"
    );

    let events = wait_for_events(&app.bus, Subject::OrderCreated, 1).await;
    let event = &events[0].payload;
    assert_eq!(event["id"], order["id"]);
    assert_eq!(event["version"], 0);
    assert_eq!(event["status"], "created");
    assert_eq!(
        event["ticket"],
        json!({ "id": ticket_id, "price": 19.99, "version": 0 })
    );
    let event_expiry: DateTime<Utc> = event["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(event_expiry, expires);

    let (_, other) = testkit::signed_in();
    let (status, body) = app.order(&ticket_id, &other).await;
    assert_eq!(
        (status, error_messages(&body)),
        (400, vec!["Ticket is already reserved".to_owned()])
    );
}

#[tokio::test]
async fn of_fifty_concurrent_orders_for_one_ticket_exactly_one_wins() {
    let app = spawn_app().await;
    let ticket_id = app.replicated_ticket(50.0).await;
    let buyers: Vec<String> = (0..50).map(|_| testkit::signed_in().1).collect();
    let answers = join_all(buyers.iter().map(|cookie| app.order(&ticket_id, cookie))).await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let refused = answers
        .iter()
        .filter(|(status, body)| {
            *status == 400 && error_messages(body) == ["Ticket is already reserved"]
        })
        .count();
    assert_eq!(
        (created, refused),
        (1, 49),
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert_eq!(app.stored_orders().await, 1);
}

#[tokio::test]
async fn a_buyer_who_saw_another_version_gets_409() {
    let app = spawn_app().await;
    let ticket_id = app.replicated_ticket(10.0).await;
    app.repriced(&ticket_id, 1, 3000.0).await;
    app.replica_at(&ticket_id, 1).await;
    let (_, cookie) = testkit::signed_in();
    let (status, body) = status_and_json(
        app.api
            .post(
                "/api/orders",
                &json!({ "ticketId": ticket_id, "ticketVersion": 0 }),
                Some(&cookie),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, error_messages(&body)),
        (409, vec!["Ticket has changed".to_owned()])
    );
    let (status, body) = status_and_json(
        app.api
            .post(
                "/api/orders",
                &json!({ "ticketId": ticket_id, "ticketVersion": "zero" }),
                Some(&cookie),
            )
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, order) = status_and_json(
        app.api
            .post(
                "/api/orders",
                &json!({ "ticketId": ticket_id, "ticketVersion": 1 }),
                Some(&cookie),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(order["ticket"]["price"], json!(3000.0));
}

#[tokio::test]
async fn a_buyer_who_saw_a_version_the_replica_has_not_reached_yet_waits_for_it() {
    let app = spawn_app().await;
    let ticket_id = app.replicated_ticket(10.0).await;
    let (_, cookie) = testkit::signed_in();
    let seen_at_tickets = json!({ "ticketId": ticket_id, "ticketVersion": 1 });
    let order = app.api.post("/api/orders", &seen_at_tickets, Some(&cookie));
    let change = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.repriced(&ticket_id, 1, 3000.0).await;
    };
    let (response, ()) = tokio::join!(order, change);
    let (status, order) = status_and_json(response).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        (&order["ticket"]["price"], &order["ticket"]["version"]),
        (&json!(3000.0), &json!(1))
    );
}

#[tokio::test]
async fn a_version_the_replica_never_reaches_answers_503_and_orders_nothing() {
    let app = spawn_app().await;
    let ticket_id = app.replicated_ticket(10.0).await;
    let (_, cookie) = testkit::signed_in();
    let (status, body) = status_and_json(
        app.api
            .post(
                "/api/orders",
                &json!({ "ticketId": ticket_id, "ticketVersion": 7 }),
                Some(&cookie),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, error_messages(&body)),
        (503, vec!["Service unavailable".to_owned()])
    );
    assert_eq!(app.stored_orders().await, 0);
}

#[tokio::test]
async fn a_seller_can_not_order_their_own_ticket() {
    let app = spawn_app().await;
    let (seller, cookie) = testkit::signed_in();
    let ticket = common::bson::oid::ObjectId::new();
    app.bus
        .publish(&common::events::TicketCreated {
            id: ticket.to_hex(),
            version: 0,
            title: "mine".into(),
            price: 10.0,
            user_id: seller.to_hex(),
        })
        .await
        .unwrap();
    app.replica_at(&ticket.to_hex(), 0).await;
    let (status, answer) = app.order(&ticket.to_hex(), &cookie).await;
    assert_eq!(
        (status, error_messages(&answer)),
        (400, vec!["You cannot order your own ticket".to_owned()])
    );
    let (_, buyer) = testkit::signed_in();
    assert_eq!(
        app.order(&ticket.to_hex(), &buyer).await.0,
        201,
        "others can"
    );
}

#[tokio::test]
async fn a_user_ordering_too_often_is_told_to_wait_and_others_are_not() {
    let mut http = testkit::http_settings();
    http.rate_limits.orders_per_user = std::num::NonZeroU32::new(1).unwrap();
    let app = crate::helpers::spawn_with_http(std::time::Duration::from_secs(900), http).await;
    let unknown = common::bson::oid::ObjectId::new().to_hex();
    let (_, cookie) = testkit::signed_in();
    assert_eq!(app.order(&unknown, &cookie).await.0, 404);
    let response = app
        .api
        .post(
            "/api/orders",
            &json!({ "ticketId": unknown }),
            Some(&cookie),
        )
        .await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = status_and_json(response).await;
    assert_eq!(
        (status, error_messages(&body)),
        (429, vec!["Too many attempts; try again later".to_owned()])
    );
    let (_, other) = testkit::signed_in();
    assert_eq!(app.order(&unknown, &other).await.0, 404);
}

#[tokio::test]
async fn invalid_input_and_anonymous_attempts_spend_no_order_attempt() {
    let mut http = testkit::http_settings();
    http.rate_limits.orders_per_user = std::num::NonZeroU32::new(1).unwrap();
    let app = crate::helpers::spawn_with_http(std::time::Duration::from_secs(900), http).await;
    let (_, cookie) = testkit::signed_in();
    let invalid = app
        .api
        .post("/api/orders", &json!({ "ticketId": "x" }), Some(&cookie))
        .await;
    assert_eq!(invalid.status().as_u16(), 400);
    let unknown = common::bson::oid::ObjectId::new().to_hex();
    let anonymous = app
        .api
        .post("/api/orders", &json!({ "ticketId": unknown }), None)
        .await;
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(
        app.order(&unknown, &cookie).await.0,
        404,
        "the one attempt is still there"
    );
    assert_eq!(app.order(&unknown, &cookie).await.0, 429);
}
