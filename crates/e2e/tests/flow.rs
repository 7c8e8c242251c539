//! The whole purchase flow through the gateway of the running fleet (issue 4, section 3).
//! Ignored by a plain `cargo test`: `scripts/test.sh` starts the fleet (with a short expiration
//! window) and runs them.

use std::time::Duration;

use e2e::{Person, charges_for, gateway, sleep_past, ticket};
use futures::future::join_all;
use serde_json::{Value, json};

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn sell_buy_pay() {
    let api = gateway();
    let seller = Person::sign_up(&api).await;
    let buyer = Person::sign_up(&api).await;
    let listed = seller.sell("Concert", "19.99").await;
    let id = listed["id"].as_str().unwrap();

    let order = buyer.buy(&listed).await;
    let order_id = order["id"].as_str().unwrap();
    assert_eq!(order["status"], "created");
    let reserved = common::testkit::eventually("the ticket to show its order", || async {
        let shown = ticket(&api, id).await;
        (shown["orderId"] == order_id).then_some(shown)
    })
    .await;
    assert_eq!(reserved["version"], 1);

    let (status, payment) = buyer.pay(order_id, "tok_visa").await;
    assert_eq!(status, 201, "{payment}");
    buyer.order_when(order_id, "complete").await;
    let charges = charges_for(order_id).await;
    assert_eq!(charges.len(), 1);
    assert_eq!(
        (charges[0]["amount"].clone(), charges[0]["currency"].clone()),
        (json!(1999), json!("usd"))
    );

    // The order's expiration comes and changes nothing.
    sleep_past(order["expiresAt"].as_str().unwrap(), Duration::from_secs(2)).await;
    let (_, after) = buyer.get(&format!("/api/orders/{order_id}")).await;
    assert_eq!(after["status"], "complete");
    assert_eq!(ticket(&api, id).await["orderId"], order_id);
    let (status, refused) = seller
        .put(
            &format!("/api/tickets/{id}"),
            json!({ "title": "x", "price": 1 }),
        )
        .await;
    assert_eq!(
        (status, refused),
        (
            400,
            json!({ "errors": [{ "message": "Cannot edit a reserved ticket" }] })
        )
    );
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn an_unpaid_order_expires_and_the_ticket_is_sold_again() {
    let api = gateway();
    let seller = Person::sign_up(&api).await;
    let first = Person::sign_up(&api).await;
    let listed = seller.sell("Opera", "45").await;
    let id = listed["id"].as_str().unwrap().to_owned();
    let order = first.buy(&listed).await;
    let order_id = order["id"].as_str().unwrap();

    sleep_past(order["expiresAt"].as_str().unwrap(), Duration::ZERO).await;
    first.order_when(order_id, "cancelled").await;
    let freed = common::testkit::eventually("the ticket to be free", || async {
        let shown = ticket(&api, &id).await;
        shown.get("orderId").is_none().then_some(shown)
    })
    .await;
    let (_, listed_now) =
        common::testkit::status_and_json(api.get("/api/tickets", None).await).await;
    assert!(
        listed_now
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str()),
        "listed again"
    );

    let second = Person::sign_up(&api).await;
    let again = second.buy(&freed).await;
    assert_eq!(again["status"], "created");
    let (status, answer) = first.pay(order_id, "tok_visa").await;
    assert_eq!(status, 400, "an expired order cannot be paid: {answer}");
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn a_declined_card_leaves_the_order_payable() {
    let api = gateway();
    let seller = Person::sign_up(&api).await;
    let buyer = Person::sign_up(&api).await;
    let listed = seller.sell("Match", "30.50").await;
    let order = buyer.buy(&listed).await;
    let order_id = order["id"].as_str().unwrap();
    let (status, declined) = buyer.pay(order_id, "tok_chargeDeclined").await;
    assert_eq!(status, 402, "{declined}");
    let (status, _) = buyer.pay(order_id, "tok_visa").await;
    assert_eq!(status, 201);
    buyer.order_when(order_id, "complete").await;
    assert_eq!(charges_for(order_id).await.len(), 1);
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn paying_one_order_twice_at_once_charges_once() {
    let api = gateway();
    let seller = Person::sign_up(&api).await;
    for tokens in [["tok_visa", "tok_visa"], ["tok_visa", "tok_mastercard"]] {
        let buyer = Person::sign_up(&api).await;
        let listed = seller.sell("Festival", "80").await;
        let order = buyer.buy(&listed).await;
        let order_id = order["id"].as_str().unwrap();
        // Make sure payments knows the order, then pay twice at once.
        buyer.pay(order_id, "tok_chargeDeclined").await;
        let answers: Vec<(u16, Value)> =
            join_all(tokens.iter().map(|token| buyer.pay(order_id, token))).await;
        assert_eq!(
            answers.iter().filter(|(status, _)| *status == 201).count(),
            1,
            "{tokens:?}: {answers:?}"
        );
        buyer.order_when(order_id, "complete").await;
        assert_eq!(charges_for(order_id).await.len(), 1, "{tokens:?}");
    }
}
