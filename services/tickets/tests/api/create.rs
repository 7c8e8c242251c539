use common::bson::{Document, doc, oid::ObjectId};
use common::events::Subject;
use common::testkit::{self, field_errors, status_and_json, wait_for_events};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn creating_requires_a_signed_in_user() {
    let app = spawn_app().await;
    let (status, body) = status_and_json(
        app.api
            .post("/api/tickets", &json!({ "title": "t", "price": 10 }), None)
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (401, json!({ "errors": [{ "message": "Not authorized" }] }))
    );
    let (status, _) = status_and_json(
        app.api
            .post(
                "/api/tickets",
                &json!({ "title": "t", "price": 10 }),
                Some("session=forged"),
            )
            .await,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn invalid_titles_and_prices_are_400_per_field() {
    let app = spawn_app().await;
    let (_, cookie) = testkit::signed_in();
    let title = |m: &str| vec![("title".to_owned(), m.to_owned())];
    let price = |m: &str| vec![("price".to_owned(), m.to_owned())];
    let cases = [
        (
            json!({ "title": "", "price": 10 }),
            title("Title is required"),
        ),
        (
            json!({ "title": "   ", "price": 10 }),
            title("Title is required"),
        ),
        (json!({ "price": 10 }), title("Title is required")),
        (
            json!({ "title": { "$ne": null }, "price": 10 }),
            title("Title is required"),
        ),
        (
            json!({ "title": "x".repeat(201), "price": 10 }),
            title("Title must be at most 200 characters"),
        ),
        (
            json!({ "title": "t", "price": -10 }),
            price("Price must be greater than 0"),
        ),
        (
            json!({ "title": "t", "price": 0 }),
            price("Price must be greater than 0"),
        ),
        (
            json!({ "title": "t" }),
            price("Price must be greater than 0"),
        ),
        (
            json!({ "title": "t", "price": "abc" }),
            price("Price must be greater than 0"),
        ),
        (
            json!({ "title": "t", "price": 12.345 }),
            price("Price must have at most two decimals"),
        ),
        (
            json!({ "title": "t", "price": 1000000.5 }),
            price("Price must be less than 1000000"),
        ),
        (
            json!({ "title": "t", "price": 1000000 }),
            price("Price must be less than 1000000"),
        ),
        (
            json!({ "title": "t", "price": 0.49 }),
            price("Price must be at least 0.50"),
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) =
            status_and_json(app.api.post("/api/tickets", &body, Some(&cookie)).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(field_errors(&answer), expected, "{body}");
    }
    let (status, answer) = status_and_json(
        app.api
            .post("/api/tickets", &json!({}), Some(&cookie))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(field_errors(&answer).len(), 2);
    let stored = app
        .db
        .collection::<Document>("tickets")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn a_valid_ticket_is_stored_and_announced() {
    let app = spawn_app().await;
    let (user, cookie) = testkit::signed_in();
    let (status, ticket) = status_and_json(
        app.api
            .post(
                "/api/tickets",
                &json!({ "title": " Concert ", "price": "19.99" }),
                Some(&cookie),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(ticket["title"], "Concert");
    assert_eq!(ticket["price"], json!(19.99));
    assert_eq!(ticket["userId"], user.to_hex());
    assert_eq!(ticket["version"], 0);
    assert!(ticket.get("orderId").is_none());

    let id = ObjectId::parse_str(ticket["id"].as_str().unwrap()).unwrap();
    let stored = app
        .db
        .collection::<Document>("tickets")
        .find_one(doc! { "_id": id })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_i64("priceCents").unwrap(), 1999);

    let events = wait_for_events(&app.bus, Subject::TicketCreated, 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].payload,
        json!({ "id": id.to_hex(), "version": 0, "title": "Concert", "price": 19.99, "userId": user.to_hex() })
    );
    assert_eq!(
        events[0].message_id.as_deref(),
        Some(format!("ticket.created:{}", id.to_hex()).as_str())
    );
    // Published, the event leaves the document's outbox.
    testkit::eventually("the outbox to empty", || async {
        let stored = app
            .db
            .collection::<Document>("tickets")
            .find_one(doc! { "_id": id })
            .await
            .unwrap()
            .unwrap();
        stored
            .get_array("outbox")
            .map_or(true, |o| o.is_empty())
            .then_some(())
    })
    .await;
}
