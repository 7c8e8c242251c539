//! The tickets service is the authority on reservations: a seller's acknowledged change is never
//! overridden by an order priced on a lagging replica, through the gateway of the running fleet.
//! Ignored by a plain `cargo test`: `scripts/test.sh` starts the fleet and runs them.

use e2e::{Person, gateway, kept_charges_for, ticket};
use futures::future::join_all;
use serde_json::{Value, json};

const RACES: usize = 10;

/// A ticket at 100 that the orders service knows (its replica answers for it).
async fn listed(seller: &Person) -> Value {
    let listed = seller.sell("Race", "100").await;
    // The seller's own order: 404 until the replica has the ticket, then 400, never an order.
    let probe = json!({ "ticketId": listed["id"] });
    common::testkit::eventually("the ticket to reach the orders service", || async {
        let (status, _) = seller.post("/api/orders", probe.clone()).await;
        (status == 400).then_some(())
    })
    .await;
    listed
}

/// The seller's change, acknowledged.
async fn reprice(seller: &Person, id: &str) {
    let (status, body) = seller
        .put(
            &format!("/api/tickets/{id}"),
            json!({ "title": "Race", "price": "3000" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Pays for the order at once (as a fast buyer would) and checks that no payment is kept for a
/// refused reservation.
async fn pay_and_check(buyer: &Person, order: &Value) {
    let id = order["id"].as_str().unwrap();
    let (status, answer) = buyer
        .post(
            "/api/payments",
            json!({ "orderId": id, "token": "tok_visa" }),
        )
        .await;
    assert!(matches!(status, 201 | 400 | 404 | 409), "{status} {answer}");
    let decided = buyer.order_decided(id).await;
    if decided["status"] == "cancelled" {
        assert!(
            kept_charges_for(id).await.is_empty(),
            "a charge kept for {decided}"
        );
    }
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn an_order_at_the_version_before_an_acknowledged_change_never_sells() {
    let api = gateway();
    let seller = Person::sign_up(&api).await;
    let buyer = Person::sign_up(&api).await;
    let (mut conflicts, mut refused) = (0, 0);
    for _ in 0..RACES {
        let listed = listed(&seller).await;
        let id = listed["id"].as_str().unwrap();
        reprice(&seller, id).await;
        let (status, order) = buyer
            .post("/api/orders", json!({ "ticketId": id, "ticketVersion": 0 }))
            .await;
        match status {
            409 => conflicts += 1,
            201 => {
                pay_and_check(&buyer, &order).await;
                let decided = buyer.order_decided(order["id"].as_str().unwrap()).await;
                assert_eq!(
                    (decided["status"].as_str(), decided["reason"].as_str()),
                    (Some("cancelled"), Some("ticket changed")),
                    "{decided}"
                );
                refused += 1;
            }
            _ => panic!("order: {status} {order}"),
        }
        let after = common::testkit::eventually("the ticket to be free", || async {
            let shown = ticket(&api, id).await;
            shown.get("orderId").is_none().then_some(shown)
        })
        .await;
        assert_eq!(after["price"], json!(3000.0));
    }
    eprintln!("price lock: {conflicts} answered 409, {refused} refused by tickets, of {RACES}");
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn without_a_version_an_order_is_priced_at_a_version_tickets_confirms() {
    let api = gateway();
    let seller = Person::sign_up(&api).await;
    let buyer = Person::sign_up(&api).await;
    for _ in 0..RACES {
        let listed = listed(&seller).await;
        let id = listed["id"].as_str().unwrap();
        reprice(&seller, id).await;
        let (status, order) = buyer.post("/api/orders", json!({ "ticketId": id })).await;
        assert_eq!(status, 201, "{order}");
        pay_and_check(&buyer, &order).await;
        let decided = buyer.order_decided(order["id"].as_str().unwrap()).await;
        match decided["ticket"]["price"].as_f64() {
            // Priced at the new version: confirmed and sold at the seller's price.
            Some(3000.0) => {
                assert_ne!(decided["status"], "cancelled", "{decided}")
            }
            // Priced at the old one: refused.
            _ => assert_eq!(
                (decided["status"].as_str(), decided["reason"].as_str()),
                (Some("cancelled"), Some("ticket changed")),
                "{decided}"
            ),
        }
    }
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn of_fifty_concurrent_orders_for_one_ticket_exactly_one_is_confirmed() {
    let api = gateway();
    let seller = Person::sign_up(&api).await;
    let first = Person::sign_up(&api).await;
    let listed = listed(&seller).await;
    let mut buyers = vec![first];
    for _ in 1..50 {
        buyers.push(Person::sign_up(&api).await);
    }
    let body = json!({ "ticketId": listed["id"], "ticketVersion": 0 });
    let answers = join_all(
        buyers
            .iter()
            .map(|buyer| buyer.post("/api/orders", body.clone())),
    )
    .await;
    let won: Vec<(usize, &Value)> = answers
        .iter()
        .enumerate()
        .filter(|(_, (status, _))| *status == 201)
        .map(|(i, (_, order))| (i, order))
        .collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    // The others: already reserved, or — once the reservation reached the orders service's
    // replica, which moved the ticket to version 1 — the price lock's 409.
    assert!(
        answers
            .iter()
            .all(|(status, _)| matches!(status, 201 | 400 | 409)),
        "{answers:?}"
    );
    let (winner, order) = won[0];
    let decided = buyers[winner]
        .order_decided(order["id"].as_str().unwrap())
        .await;
    assert_eq!(decided["status"], "awaiting:payment", "{decided}");
    let shown = ticket(&api, listed["id"].as_str().unwrap()).await;
    assert_eq!(shown["orderId"], order["id"]);
}
