//! A buyer's and a seller's view of the running fleet, through the gateway only.

use std::time::Duration;

use common::testkit::{TestClient, cookie_pair, eventually, status_and_json};
use reqwest::header::SET_COOKIE;
use serde_json::{Value, json};

/// Every service of the fleet, in start-up order.
pub use fleet::NAMES as SERVICES;

/// The fleet under test, as `scripts/fleet.sh --detach` wrote it (`$FLEET_DIR/fleet.json`).
pub fn fleet() -> fleet::State {
    fleet::State::load(fleet::fleet_dir()).unwrap_or_else(|error| {
        panic!(
            "the fleet under test: {error} (run through scripts/test.sh, which starts the fleet)"
        )
    })
}

/// The gateway of the fleet under test.
pub fn gateway() -> TestClient {
    TestClient::new(fleet().gateway.url)
}

/// A person using the fleet: signed up with a fresh email, holding their session cookie.
pub struct Person {
    pub api: TestClient,
    pub cookie: String,
    pub id: String,
}

impl Person {
    pub async fn sign_up(api: &TestClient) -> Person {
        let email = format!("{}@e2e.test", common::testkit::unique_name("user"));
        let response = api
            .post(
                "/api/users/signup",
                &json!({ "email": email, "password": "password" }),
                None,
            )
            .await;
        let cookie = cookie_pair(
            response
                .headers()
                .get(SET_COOKIE)
                .expect("a session cookie")
                .to_str()
                .unwrap(),
        );
        let (status, user) = status_and_json(response).await;
        assert_eq!(status, 201, "{user}");
        Person {
            api: api.clone(),
            cookie,
            id: user["id"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        status_and_json(self.api.get(path, Some(&self.cookie)).await).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        status_and_json(self.api.post(path, &body, Some(&self.cookie)).await).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        status_and_json(self.api.put(path, &body, Some(&self.cookie)).await).await
    }

    pub async fn sell(&self, title: &str, price: &str) -> Value {
        let (status, ticket) = self
            .post("/api/tickets", json!({ "title": title, "price": price }))
            .await;
        assert_eq!(status, 201, "{ticket}");
        ticket
    }

    /// Orders the ticket at the version this person saw; waits for the ticket to reach the
    /// orders service (events take milliseconds, but they do take them): 404 while the replica
    /// has not got the ticket, 503 while it has not caught up with the version seen.
    pub async fn buy(&self, ticket: &Value) -> Value {
        let body = json!({ "ticketId": ticket["id"], "ticketVersion": ticket["version"] });
        eventually("the order to be accepted", || async {
            let (status, order) = self.post("/api/orders", body.clone()).await;
            match status {
                201 => Some(order),
                404 | 503 => None,
                _ => panic!("order refused: {status} {order}"),
            }
        })
        .await
    }

    /// Pays, waiting for the order to reach the payments service and its reservation to be
    /// confirmed first (404 and 409 until then).
    pub async fn pay(&self, order_id: &str, token: &str) -> (u16, Value) {
        let body = json!({ "orderId": order_id, "token": token });
        eventually("the order to reach payments, confirmed", || async {
            let (status, answer) = self.post("/api/payments", body.clone()).await;
            (status != 404 && status != 409).then_some((status, answer))
        })
        .await
    }

    /// The order once the tickets service has decided its reservation: `awaiting:payment`
    /// (confirmed) or `cancelled` (refused), or whatever it moved on to since.
    pub async fn order_decided(&self, order_id: &str) -> Value {
        eventually(
            &format!("the reservation of order {order_id} to be decided"),
            || async {
                let (_, order) = self.get(&format!("/api/orders/{order_id}")).await;
                (order["status"] != "created").then_some(order)
            },
        )
        .await
    }

    pub async fn order_when(&self, order_id: &str, status: &str) -> Value {
        eventually(&format!("order {order_id} to be {status}"), || async {
            let (_, order) = self.get(&format!("/api/orders/{order_id}")).await;
            (order["status"] == status).then_some(order)
        })
        .await
    }
}

/// The ticket as anyone sees it.
pub async fn ticket(api: &TestClient, id: &str) -> Value {
    let (status, ticket) =
        status_and_json(api.get(&format!("/api/tickets/{id}"), None).await).await;
    assert_eq!(status, 200, "{ticket}");
    ticket
}

/// The successful charges the Stripe mock holds for an order that were not refunded.
pub async fn kept_charges_for(order_id: &str) -> Vec<Value> {
    charges_for(order_id)
        .await
        .into_iter()
        .filter(|charge| {
            charge["refunded"] != true
                && charge["amount_refunded"].as_i64() != charge["amount"].as_i64()
        })
        .collect()
}

/// The successful charges the Stripe mock holds for an order.
pub async fn charges_for(order_id: &str) -> Vec<Value> {
    let base = fleet()
        .server("stripe")
        .expect("the fleet's Stripe mock")
        .url
        .clone();
    let list: Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/charges?limit=100",
            base.trim_end_matches('/')
        ))
        .bearer_auth("sk_test_mock")
        .send()
        .await
        .expect("Stripe mock reachable")
        .json()
        .await
        .expect("a charge list");
    list["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|charge| {
            charge["status"] == "succeeded" && charge["metadata"]["orderId"] == order_id
        })
        .cloned()
        .collect()
}

/// Sleeps until just after `expires_at` (RFC 3339) plus `margin`.
pub async fn sleep_past(expires_at: &str, margin: Duration) {
    let expires: chrono::DateTime<chrono::Utc> = expires_at.parse().expect("RFC 3339");
    let left = (expires - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + margin).await;
}

/// The flow the observability tests follow through every service: `buyer` buys a ticket of
/// `seller`'s, pays and sees the order complete; then someone new orders another ticket of
/// theirs, does not pay, and sees the order cancelled when it expires. (Three sign-ups in all,
/// with the two given; two tickets, two orders, one payment, one expiry.)
pub async fn purchase_and_expiry(api: &TestClient, seller: &Person, buyer: &Person, label: &str) {
    let paid = seller.sell(&format!("{label} concert"), "12").await;
    let order = buyer.buy(&paid).await;
    let order_id = order["id"].as_str().unwrap();
    assert_eq!(buyer.pay(order_id, "tok_visa").await.0, 201);
    buyer.order_when(order_id, "complete").await;

    let late = Person::sign_up(api).await;
    let left = seller.sell(&format!("{label} opera"), "30").await;
    let unpaid = late.buy(&left).await;
    let unpaid_id = unpaid["id"].as_str().unwrap();
    sleep_past(unpaid["expiresAt"].as_str().unwrap(), Duration::ZERO).await;
    late.order_when(unpaid_id, "cancelled").await;
}
