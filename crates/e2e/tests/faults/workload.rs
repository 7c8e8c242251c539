//! The purchase workload: users selling, ordering, paying, cancelling and letting orders expire
//! in a loop, retrying through outages, and writing down what they were told in the journal.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::testkit::TestClient;
use e2e::Person;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

use crate::journal::{Journal, OrderEntry, Payment, Plan};

/// Simulated users, each selling and buying in a loop.
pub const USERS: usize = 6;
/// Between two rounds of one user.
const ROUND_PAUSE: Duration = Duration::from_millis(400);
/// The longest expiration window the workload is made for (scripts/test.sh sets 8 s).
const MAX_WINDOW: Duration = Duration::from_secs(20);
/// A buyer who means to pay stops trying this long before the order expires, so that no
/// payment races its expiration (the expiration wins such a race; the charge is refunded).
const PAY_MARGIN: Duration = Duration::from_millis(2500);
/// A late payer starts paying this long before `PAY_MARGIN` runs out.
const LATE_PAYMENT_WINDOW: Duration = Duration::from_millis(1500);
/// How long one step of a round (sell, order, pay, ...) keeps retrying through an outage.
const STEP_PATIENCE: Duration = Duration::from_secs(20);
/// The card that pays.
const CARD: &str = "tok_visa";

/// The shoppers, and one more buyer (`users[USERS]`) who pays while orders is down.
pub struct Shop {
    pub users: Vec<Person>,
    pub journal: Mutex<Journal>,
    /// Set when the faults are over: each shopper finishes its round and stops.
    pub stop: AtomicBool,
}

/// How long until the order expires.
fn time_left(order: &Value) -> Option<Duration> {
    let expires_at: DateTime<Utc> = order["expiresAt"].as_str()?.parse().ok()?;
    Some((expires_at - Utc::now()).to_std().unwrap_or_default())
}

/// One answer, or why there was none.
type Answer = Result<(u16, Value), String>;

/// What a call through outages ended with.
struct Called {
    answer: Option<(u16, Value)>,
    /// Some attempt got no answer (or a 5xx): it may have taken effect all the same.
    interrupted: bool,
}

/// The `id` of a ticket or an order.
fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn send(user: &Person, method: Method, path: &str, body: Option<&Value>) -> Answer {
    let mut request = user
        .api
        .request(method, path, Some(&user.cookie))
        .timeout(Duration::from_secs(10));
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(|error| error.to_string())?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|error| error.to_string())?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

impl Shop {
    /// Signs up the shoppers and the extra buyer.
    pub async fn open(api: &TestClient) -> Shop {
        let mut users = Vec::new();
        for _ in 0..=USERS {
            users.push(Person::sign_up(api).await);
        }
        Shop {
            users,
            journal: Mutex::new(Journal::default()),
            stop: AtomicBool::new(false),
        }
    }

    fn note_outage(&self, what: String) {
        *self
            .journal
            .lock()
            .unwrap()
            .outages
            .entry(what)
            .or_default() += 1;
    }

    fn unexpected(&self, what: String) {
        eprintln!("faults: unexpected: {what}");
        self.journal.lock().unwrap().unexpected.push(what);
    }

    /// Sends until an answer that is not an outage (no connection, 502/503/504, or a 500,
    /// which is also noted as unexpected), backing off, until `until`.
    async fn call(
        &self,
        user: &Person,
        method: Method,
        path: &str,
        route: &str,
        body: Option<&Value>,
        until: Instant,
    ) -> Called {
        let mut delay = Duration::from_millis(50);
        let mut interrupted = false;
        loop {
            let outage = match send(user, method.clone(), path, body).await {
                Ok((status, answer)) if !matches!(status, 500 | 502..=504) => {
                    return Called {
                        answer: Some((status, answer)),
                        interrupted,
                    };
                }
                Ok((500, answer)) => {
                    self.unexpected(format!("{method} {route}: 500 {answer}"));
                    "500".to_owned()
                }
                Ok((status, _)) => status.to_string(),
                Err(_) => "no answer".to_owned(),
            };
            interrupted = true;
            self.note_outage(format!("{method} {route}: {outage}"));
            if Instant::now() + delay > until {
                return Called {
                    answer: None,
                    interrupted,
                };
            }
            sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    /// Rounds of user `me` until told to stop.
    pub async fn shop(self: Arc<Self>, me: usize) {
        let mut round = 0;
        while !self.stop.load(Ordering::SeqCst) {
            round += 1;
            self.round(me, round).await;
            self.journal.lock().unwrap().rounds += 1;
            sleep(ROUND_PAUSE).await;
        }
    }

    async fn round(&self, me: usize, round: usize) {
        let plans = [
            Plan::Pay,
            Plan::LetExpire,
            Plan::PayLate,
            Plan::Cancel,
            Plan::Pay,
        ];
        let plan = plans[(round + me) % plans.len()];
        let seller = &self.users[me];
        let buyer = &self.users[(me + 1 + round % (USERS - 1)) % USERS];
        let price = format!("{}.{:02}", 5 + (me * 7 + round) % 90, (round * 13) % 100);
        let Some(mut ticket) = self
            .sell(seller, &format!("Show {me}-{round}"), &price)
            .await
        else {
            return;
        };
        if round.is_multiple_of(3) {
            // The seller changes it before anyone buys: more versions to replicate.
            let price = format!("{}.50", 10 + round % 50);
            if let Some(edited) = self.edit(seller, &ticket, &price).await {
                ticket = edited;
            }
        }
        let Some(order) = self.order(buyer, &ticket).await else {
            return;
        };
        match plan {
            Plan::Pay | Plan::PayWhileOrdersDown => self.pay(buyer, &order).await,
            Plan::PayLate => {
                if let Some(left) = time_left(&order) {
                    sleep(left.saturating_sub(PAY_MARGIN + LATE_PAYMENT_WINDOW)).await;
                }
                self.pay(buyer, &order).await;
            }
            Plan::LetExpire => {}
            Plan::Cancel => {
                if self.cancel(buyer, &order).await {
                    // Someone else buys the freed ticket, and pays.
                    let other = &self.users[(me + 2) % USERS];
                    if let Some(freed) = self.freed(other, &ticket).await
                        && let Some(again) = self.order(other, &freed).await
                    {
                        self.pay(other, &again).await;
                    }
                }
            }
        }
        self.update_order(&id_of(&order), |entry| entry.plan = plan);
    }

    /// Tickets of the shoppers, ordered by the extra buyer, not paid yet.
    pub async fn orders_to_pay_later(&self, count: usize) -> Vec<Value> {
        let buyer = &self.users[USERS];
        let mut orders = Vec::new();
        for seller in self.users.iter().take(count) {
            let Some(ticket) = self
                .sell(seller, "Paid while orders is down", "12.34")
                .await
            else {
                continue;
            };
            if let Some(order) = self.order(buyer, &ticket).await {
                self.update_order(&id_of(&order), |entry| {
                    entry.plan = Plan::PayWhileOrdersDown
                });
                orders.push(order);
            }
        }
        // Let payments learn of them (events take milliseconds).
        sleep(Duration::from_millis(500)).await;
        orders
    }

    fn patience(&self) -> Instant {
        Instant::now() + STEP_PATIENCE
    }

    async fn sell(&self, seller: &Person, title: &str, price: &str) -> Option<Value> {
        let body = json!({ "title": title, "price": price });
        let called = self
            .call(
                seller,
                Method::POST,
                "/api/tickets",
                "/api/tickets",
                Some(&body),
                self.patience(),
            )
            .await;
        match called.answer? {
            (201, ticket) => {
                self.journal.lock().unwrap().tickets.insert(id_of(&ticket));
                Some(ticket)
            }
            (status, answer) => {
                self.unexpected(format!("POST /api/tickets: {status} {answer}"));
                None
            }
        }
    }

    async fn edit(&self, seller: &Person, ticket: &Value, price: &str) -> Option<Value> {
        let id = ticket["id"].as_str()?;
        let body = json!({ "title": ticket["title"], "price": price });
        let called = self
            .call(
                seller,
                Method::PUT,
                &format!("/api/tickets/{id}"),
                "/api/tickets/:id",
                Some(&body),
                self.patience(),
            )
            .await;
        match called.answer? {
            (200, edited) => Some(edited),
            (status, answer) => {
                self.unexpected(format!("PUT /api/tickets/{id}: {status} {answer}"));
                None
            }
        }
    }

    /// Orders the ticket at the version the buyer saw, waiting for it to reach the orders
    /// service. An order whose 201 was lost is found among the buyer's orders.
    async fn order(&self, buyer: &Person, ticket: &Value) -> Option<Value> {
        let ticket_id = ticket["id"].as_str()?.to_owned();
        let mut body = json!({ "ticketId": ticket_id, "ticketVersion": ticket["version"] });
        let mut until = self.patience();
        let mut interrupted = false;
        loop {
            let called = self
                .call(
                    buyer,
                    Method::POST,
                    "/api/orders",
                    "/api/orders",
                    Some(&body),
                    until,
                )
                .await;
            interrupted |= called.interrupted;
            match called.answer? {
                (201, order) => {
                    if time_left(&order).is_none_or(|left| left > MAX_WINDOW) {
                        self.unexpected(format!(
                            "order {} expires at {}: the test needs an expiration window of at most \
                             {MAX_WINDOW:?} (EXPIRATION_WINDOW_SECONDS; scripts/test.sh sets 8)",
                            order["id"], order["expiresAt"]
                        ));
                    }
                    self.record_order(&order, &ticket_id, true);
                    return Some(order);
                }
                // Not replicated yet (404), or the replica is at an older version (409).
                (404 | 409, _) if Instant::now() < until => {
                    sleep(Duration::from_millis(50)).await;
                }
                // The ticket moved on from the version the buyer saw (an edit whose answer was
                // lost in an outage, say): the price lock's right answer. The buyer looks again
                // and orders what the ticket is now.
                (409, _) => {
                    let now = self.current_version(buyer, &ticket_id).await?;
                    if now == body["ticketVersion"] {
                        self.unexpected(format!(
                            "POST /api/orders for {ticket_id}: 409 for {STEP_PATIENCE:?} at the \
                             ticket's current version {now}: the orders replica lags"
                        ));
                        return None;
                    }
                    body["ticketVersion"] = now;
                    until = self.patience();
                }
                (400, answer)
                    if interrupted && message(&answer) == "Ticket is already reserved" =>
                {
                    // Our own earlier attempt went through; its 201 was lost.
                    let order = self.find_order(buyer, &ticket_id).await?;
                    self.record_order(&order, &ticket_id, false);
                    return Some(order);
                }
                (status, answer) => {
                    self.unexpected(format!(
                        "POST /api/orders for {ticket_id}: {status} {answer}"
                    ));
                    return None;
                }
            }
        }
    }

    async fn find_order(&self, buyer: &Person, ticket_id: &str) -> Option<Value> {
        let called = self
            .call(
                buyer,
                Method::GET,
                "/api/orders",
                "/api/orders",
                None,
                self.patience(),
            )
            .await;
        let (_, orders) = called.answer?;
        orders.as_array()?.iter().rev().find_map(|order| {
            (order["ticket"]["id"] == ticket_id
                && (order["status"] == "created" || order["status"] == "awaiting:payment"))
                .then(|| order.clone())
        })
    }

    fn record_order(&self, order: &Value, ticket_id: &str, acknowledged: bool) {
        self.journal.lock().unwrap().orders.insert(
            id_of(order),
            OrderEntry {
                ticket_id: ticket_id.to_owned(),
                plan: Plan::LetExpire,
                acknowledged,
                payment: Payment::None,
                cancelled: false,
            },
        );
    }

    /// Changes the journal's entry of an order (if it has one).
    fn update_order(&self, order_id: &str, change: impl FnOnce(&mut OrderEntry)) {
        if let Some(entry) = self.journal.lock().unwrap().orders.get_mut(order_id) {
            change(entry);
        }
    }

    fn set_payment(&self, order_id: &str, payment: Payment) {
        self.update_order(order_id, |entry| entry.payment = payment);
    }

    /// Pays with a good card, well before the order expires.
    pub async fn pay(&self, buyer: &Person, order: &Value) {
        let Some(order_id) = order["id"].as_str() else {
            return;
        };
        let Some(left) = time_left(order) else {
            return;
        };
        let until = Instant::now() + left.saturating_sub(PAY_MARGIN);
        let body = json!({ "orderId": order_id, "token": CARD });
        let mut interrupted = false;
        let mut last = String::new();
        loop {
            if Instant::now() >= until {
                let outcome = if interrupted {
                    Payment::Unsure(last)
                } else {
                    Payment::None
                };
                self.set_payment(order_id, outcome);
                return;
            }
            let called = self
                .call(
                    buyer,
                    Method::POST,
                    "/api/payments",
                    "/api/payments",
                    Some(&body),
                    until,
                )
                .await;
            interrupted |= called.interrupted;
            match called.answer {
                // Gave up: its deadline is ours.
                None => {
                    self.set_payment(order_id, Payment::Unsure("no answer".into()));
                    return;
                }
                Some((201, _)) => {
                    self.set_payment(order_id, Payment::Paid { acknowledged: true });
                    return;
                }
                // Not replicated to payments yet, or its reservation not confirmed yet (the tickets
                // service down, say).
                Some((404 | 409, _)) => sleep(Duration::from_millis(50)).await,
                Some((400, answer)) => {
                    let said = message(&answer);
                    match said.as_str() {
                        // A payment cut short by a crash holds the order (until its claim is stale).
                        "A payment for this order is already in progress" => {
                            interrupted = true;
                            last = said;
                            self.note_outage("POST /api/payments: 400 in progress".into());
                            sleep(Duration::from_millis(200)).await;
                        }
                        // The reservation was confirmed late (the tickets or orders service was
                        // down) and the order's window ran out while the payment waited for it,
                        // or the charge lost the race against the expiration (then refunded).
                        "Cannot pay for a cancelled order"
                            if time_left(order).is_none_or(|left| left < PAY_MARGIN) =>
                        {
                            self.note_outage(
                                "POST /api/payments: 400 expired while waiting".into(),
                            );
                            self.set_payment(order_id, Payment::Refused(said));
                            return;
                        }
                        "Order is already paid" if interrupted => {
                            self.set_payment(
                                order_id,
                                Payment::Paid {
                                    acknowledged: false,
                                },
                            );
                            return;
                        }
                        _ => {
                            self.unexpected(format!(
                                "POST /api/payments for {order_id}: 400 {answer}"
                            ));
                            self.set_payment(order_id, Payment::Refused(said));
                            return;
                        }
                    }
                }
                Some((status, answer)) => {
                    self.unexpected(format!(
                        "POST /api/payments for {order_id}: {status} {answer}"
                    ));
                    self.set_payment(order_id, Payment::Refused(format!("{status} {answer}")));
                    return;
                }
            }
        }
    }

    async fn cancel(&self, buyer: &Person, order: &Value) -> bool {
        let Some(order_id) = order["id"].as_str() else {
            return false;
        };
        let called = self
            .call(
                buyer,
                Method::DELETE,
                &format!("/api/orders/{order_id}"),
                "/api/orders/:id",
                None,
                self.patience(),
            )
            .await;
        match called.answer {
            Some((204, _)) => {
                self.update_order(order_id, |entry| entry.cancelled = true);
                true
            }
            Some((status, answer)) => {
                self.unexpected(format!("DELETE /api/orders/{order_id}: {status} {answer}"));
                false
            }
            None => false,
        }
    }

    /// The ticket once its cancelled order let it go.
    /// The ticket's version as the tickets service shows it now.
    async fn current_version(&self, buyer: &Person, ticket_id: &str) -> Option<Value> {
        let called = self
            .call(
                buyer,
                Method::GET,
                &format!("/api/tickets/{ticket_id}"),
                "/api/tickets/:id",
                None,
                self.patience(),
            )
            .await;
        match called.answer? {
            (200, shown) => Some(shown["version"].clone()),
            (status, answer) => {
                self.unexpected(format!("GET /api/tickets/{ticket_id}: {status} {answer}"));
                None
            }
        }
    }

    async fn freed(&self, buyer: &Person, ticket: &Value) -> Option<Value> {
        let id = ticket["id"].as_str()?;
        let until = self.patience();
        while Instant::now() < until {
            let called = self
                .call(
                    buyer,
                    Method::GET,
                    &format!("/api/tickets/{id}"),
                    "/api/tickets/:id",
                    None,
                    until,
                )
                .await;
            if let Some((200, shown)) = called.answer
                && shown.get("orderId").is_none()
                && shown["version"].as_i64() > ticket["version"].as_i64()
            {
                return Some(shown);
            }
            sleep(Duration::from_millis(100)).await;
        }
        None
    }
}
