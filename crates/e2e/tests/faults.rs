//! Fault tests (issue 7, section 2). With a purchase workload in flight, one fault at a time:
//! each service is killed (SIGKILL) and started again, then NATS, the MongoDB server and Redis
//! are restarted. Then the fleet must converge, and nothing may be lost or done twice:
//! - every order ends `complete` (exactly when paid) or `cancelled`, none left pending;
//! - every ticket is held by its one live order, or by none;
//! - every replica (orders' tickets, payments' orders) is at its source's version;
//! - every event is in its stream exactly once, one charge per paid order, no dead letters.
//!
//! Ignored by a plain `cargo test`: `scripts/test.sh` runs it alone, after the other
//! end-to-end tests (it restarts servers they share), against the fleet it started.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::bson::{Bson, Document, doc, oid::ObjectId};
use common::events::{EventBus, Namespace};
use e2e::{Person, gateway};
use futures::future::join_all;
use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

/// Simulated users, each selling and buying in a loop.
const USERS: usize = 6;
/// Between two rounds of one user.
const ROUND_PAUSE: Duration = Duration::from_millis(400);
/// The workload runs alone this long before the first fault.
const WARM_UP: Duration = Duration::from_secs(3);
/// How long a killed service stays down.
const DOWNTIME: Duration = Duration::from_secs(4);
/// Orders stays down longer than an expiration window: payments go on meanwhile, so when it
/// is back, payments and expirations of the same orders wait for it side by side.
const ORDERS_DOWNTIME: Duration = Duration::from_secs(10);
/// Orders paid while the orders service is down (and expiring before it is back).
const PAID_WHILE_ORDERS_DOWN: usize = 4;
/// The longest expiration window the workload is made for (scripts/test.sh sets 8 s).
const MAX_WINDOW: Duration = Duration::from_secs(20);
/// Between a fault's recovery and the next fault.
const PAUSE: Duration = Duration::from_secs(2);
/// A buyer who means to pay stops trying this long before the order expires, so that no
/// payment races its expiration (the expiration wins such a race; the charge is refunded).
const PAY_MARGIN: Duration = Duration::from_millis(2500);
/// A late payer starts paying this long before `PAY_MARGIN` runs out.
const LATE_PAYMENT_WINDOW: Duration = Duration::from_millis(1500);
/// How long one step of a round (sell, order, pay, ...) keeps retrying through an outage.
const STEP_PATIENCE: Duration = Duration::from_secs(20);
/// After the last order's expiry, how long the fleet has to converge.
const CONVERGENCE: Duration = Duration::from_secs(60);
/// The card that pays.
const CARD: &str = "tok_visa";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn under_faults_nothing_is_lost_or_done_twice() {
    let fleet = Fleet::new();
    fleet
        .all_ready(Duration::from_secs(30))
        .await
        .unwrap_or_else(|down| panic!("the fleet is not healthy before the test: {down}"));
    let started = Instant::now();
    // The test body runs as a task so that a failure still leaves a healthy fleet behind.
    let outcome = tokio::spawn(run(fleet.clone())).await;
    let restored = fleet.restore().await;
    eprintln!("faults: whole test took {:.0?}", started.elapsed());
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
    if let Err(down) = restored {
        panic!("the fleet could not be restored to health after the faults: {down}");
    }
}

async fn run(fleet: Fleet) {
    let api = gateway();
    let dead_letters_before = Streams::connect()
        .await
        .last_sequence(common::events::bus::DEAD_LETTER_STREAM)
        .await;
    // The shoppers, and one more buyer who pays while orders is down.
    let mut users = Vec::new();
    for _ in 0..=USERS {
        users.push(Person::sign_up(&api).await);
    }
    let shop = Arc::new(Shop {
        users,
        journal: Mutex::new(Journal::default()),
        stop: AtomicBool::new(false),
    });
    let shoppers: Vec<_> = (0..USERS)
        .map(|user| tokio::spawn(shop.clone().shop(user)))
        .collect();

    sleep(WARM_UP).await;
    let mut faults = Vec::new();
    for service in ["auth", "tickets", "orders", "payments", "expiration"] {
        let held = if service == "orders" {
            shop.orders_to_pay_later(PAID_WHILE_ORDERS_DOWN).await
        } else {
            Vec::new()
        };
        let t0 = Instant::now();
        fleet.must(&["kill", service]).await;
        if service == "orders" {
            // Payments go on without orders; these orders expire before it is back, so it then
            // finds each one's payment and, stored after it, its expiration.
            let buyer = &shop.users[USERS];
            join_all(held.iter().map(|order| shop.pay(buyer, order))).await;
            sleep(ORDERS_DOWNTIME.saturating_sub(t0.elapsed())).await;
        } else {
            sleep(DOWNTIME).await;
        }
        fleet.must(&["start", service]).await;
        faults.push(format!("kill -9 {service}: back in {:.1?}", t0.elapsed()));
        sleep(PAUSE).await;
    }
    for server in ["nats", "mongo", "redis"] {
        let t0 = Instant::now();
        fleet.must(&["infra", "restart", server]).await;
        faults.push(format!("restart {server}: back in {:.1?}", t0.elapsed()));
        sleep(PAUSE).await;
    }
    shop.stop.store(true, Ordering::SeqCst);
    for shopper in shoppers {
        shopper.await.expect("a shopper panicked");
    }
    fleet
        .all_ready(Duration::from_secs(30))
        .await
        .unwrap_or_else(|down| panic!("after the faults, a service did not recover: {down}"));

    let journal = std::mem::take(&mut *shop.journal.lock().unwrap());
    eprintln!("faults: {}", faults.join("; "));
    eprintln!("faults: {}", journal.summary());
    let sellers: Vec<String> = shop.users.iter().map(|user| user.id.clone()).collect();

    // Converged = every check passes; poll until then or until the bound after the last expiry.
    let mut last_expiry = Utc::now();
    let mut report;
    loop {
        let world = World::load(&sellers, dead_letters_before).await;
        if let Some(latest) = world.orders.values().filter_map(expires_at).max() {
            last_expiry = last_expiry.max(latest);
        }
        report = check(&journal, &world);
        let now = Utc::now();
        let settled = now > last_expiry + chrono::Duration::seconds(2);
        if settled && report.problems.is_empty() {
            break;
        }
        if now > last_expiry + chrono::Duration::from_std(CONVERGENCE).unwrap() {
            break;
        }
        sleep(Duration::from_secs(2)).await;
    }
    eprintln!("faults: {}", report.notes.join("\n        "));
    if !report.problems.is_empty() {
        let shown = report.problems.len().min(40);
        panic!(
            "the fleet did not converge ({} problem(s), {}s after the last expiry):\n  {}{}",
            report.problems.len(),
            CONVERGENCE.as_secs(),
            report.problems[..shown].join("\n  "),
            if shown < report.problems.len() {
                "\n  ..."
            } else {
                ""
            }
        );
    }
    let unexpected = &journal.unexpected;
    assert!(
        unexpected.is_empty(),
        "answers the contract does not allow during faults:\n  {}",
        unexpected.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// the fleet: scripts/fleet.sh
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Fleet {
    root: PathBuf,
    http: reqwest::Client,
}

impl Fleet {
    fn new() -> Self {
        Fleet {
            root: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap(),
        }
    }

    /// `scripts/fleet.sh ARGS` on the fleet of `FLEET_DIR` (its env.sh exports it).
    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let script = self.root.join("scripts/fleet.sh");
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            let output = std::process::Command::new(&script)
                .args(&args)
                .output()
                .map_err(|error| format!("{}: {error}", script.display()))?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            if output.status.success() {
                Ok(text)
            } else {
                Err(format!(
                    "scripts/fleet.sh {} failed ({}):\n{text}",
                    args.join(" "),
                    output.status
                ))
            }
        })
        .await
        .expect("fleet.sh runner")
    }

    async fn must(&self, args: &[&str]) {
        if let Err(error) = self.run(args).await {
            panic!("{error}");
        }
    }

    /// The fleet's services and their direct URLs (from the fleet's env.sh).
    fn services() -> Vec<(String, String)> {
        let names = std::env::var("FLEET_SERVICES")
            .unwrap_or_else(|_| "auth tickets orders payments expiration client".into());
        names
            .split_whitespace()
            .map(|name| {
                let variable = format!("{}_URL", name.to_uppercase());
                let url = std::env::var(&variable).unwrap_or_else(|_| {
                    panic!(
                        "{variable} is not set: source the fleet's env.sh (scripts/test.sh does)"
                    )
                });
                (name.to_owned(), url)
            })
            .collect()
    }

    async fn ready(&self, url: &str) -> bool {
        match self.http.get(format!("{url}/readyz")).send().await {
            Ok(response) => response.status() == 200,
            Err(_) => false,
        }
    }

    /// Waits until every service answers its /readyz with 200; else names those that do not.
    async fn all_ready(&self, patience: Duration) -> Result<(), String> {
        let deadline = Instant::now() + patience;
        loop {
            let mut down = Vec::new();
            for (name, url) in Self::services() {
                if !self.ready(&url).await {
                    down.push(name);
                }
            }
            if down.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("not ready: {}", down.join(", ")));
            }
            sleep(Duration::from_millis(200)).await;
        }
    }

    /// Starts whatever a failed run left down: infra servers, then services.
    async fn restore(&self) -> Result<(), String> {
        if self.all_ready(Duration::from_secs(5)).await.is_ok() {
            return Ok(());
        }
        if let Err(error) = self.run(&["infra", "start"]).await {
            eprintln!("faults: restoring the infra: {error}");
        }
        for (name, url) in Self::services() {
            if !self.ready(&url).await {
                // Fails harmlessly when it runs and is only slow to get ready.
                if let Err(error) = self.run(&["start", &name]).await {
                    eprintln!("faults: restoring {name}: {error}");
                }
            }
        }
        self.all_ready(Duration::from_secs(60)).await
    }
}

// ---------------------------------------------------------------------------------------------
// the workload
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Pay,
    /// Pays while the orders service is down; the order expires before it is back.
    PayWhileOrdersDown,
    /// Pays late in the window (the buyer took their time), still well before the expiry.
    PayLate,
    LetExpire,
    Cancel,
}

#[derive(Debug, Clone, PartialEq)]
enum Payment {
    /// Not attempted.
    None,
    /// 201 (or "already paid" after an attempt whose answer was lost).
    Paid { acknowledged: bool },
    /// Gave up without an answer: an attempt may have reached Stripe.
    Unsure(String),
    /// A definite refusal.
    Refused(String),
}

#[derive(Debug, Clone)]
struct OrderEntry {
    ticket_id: String,
    plan: Plan,
    /// Created with a 201 (not an order found afterwards when the 201 was lost).
    acknowledged: bool,
    payment: Payment,
    /// DELETE answered 204.
    cancelled: bool,
}

#[derive(Default)]
struct Journal {
    /// Tickets answered with 201.
    tickets: BTreeSet<String>,
    orders: BTreeMap<String, OrderEntry>,
    /// "POST /api/orders: 503" → how often, while faults were injected.
    outages: BTreeMap<String, usize>,
    /// Answers the contract does not allow (a 500, an unexpected refusal).
    unexpected: Vec<String>,
    rounds: usize,
}

impl Journal {
    fn summary(&self) -> String {
        let paid = self
            .orders
            .values()
            .filter(|order| matches!(order.payment, Payment::Paid { .. }))
            .count();
        let unsure = self
            .orders
            .values()
            .filter(|order| matches!(order.payment, Payment::Unsure(_)))
            .count();
        let cancelled = self.orders.values().filter(|order| order.cancelled).count();
        let outages: Vec<String> = self
            .outages
            .iter()
            .map(|(what, count)| format!("{what} ×{count}"))
            .collect();
        format!(
            "workload: {} rounds, {} tickets and {} orders answered 201 ({} paid, {} payments unsure, \
             {} cancelled by their buyer); outages met: {}",
            self.rounds,
            self.tickets.len(),
            self.orders
                .values()
                .filter(|order| order.acknowledged)
                .count(),
            paid,
            unsure,
            cancelled,
            if outages.is_empty() {
                "none".to_owned()
            } else {
                outages.join(", ")
            }
        )
    }
}

struct Shop {
    users: Vec<Person>,
    journal: Mutex<Journal>,
    stop: AtomicBool,
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

    async fn shop(self: Arc<Self>, me: usize) {
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
        let id = order["id"].as_str().unwrap_or_default().to_owned();
        if let Some(entry) = self.journal.lock().unwrap().orders.get_mut(&id) {
            entry.plan = plan;
        }
    }

    /// Tickets of the shoppers, ordered by the extra buyer, not paid yet.
    async fn orders_to_pay_later(&self, count: usize) -> Vec<Value> {
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
                let id = order["id"].as_str().unwrap_or_default().to_owned();
                if let Some(entry) = self.journal.lock().unwrap().orders.get_mut(&id) {
                    entry.plan = Plan::PayWhileOrdersDown;
                }
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
                let id = ticket["id"].as_str().unwrap_or_default().to_owned();
                self.journal.lock().unwrap().tickets.insert(id);
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
        let body = json!({ "ticketId": ticket_id, "ticketVersion": ticket["version"] });
        let until = self.patience();
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
        let id = order["id"].as_str().unwrap_or_default().to_owned();
        self.journal.lock().unwrap().orders.insert(
            id,
            OrderEntry {
                ticket_id: ticket_id.to_owned(),
                plan: Plan::LetExpire,
                acknowledged,
                payment: Payment::None,
                cancelled: false,
            },
        );
    }

    fn set_payment(&self, order_id: &str, payment: Payment) {
        if let Some(entry) = self.journal.lock().unwrap().orders.get_mut(order_id) {
            entry.payment = payment;
        }
    }

    /// Pays with a good card, well before the order expires.
    async fn pay(&self, buyer: &Person, order: &Value) {
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
                if let Some(entry) = self.journal.lock().unwrap().orders.get_mut(order_id) {
                    entry.cancelled = true;
                }
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

// ---------------------------------------------------------------------------------------------
// what the fleet holds: databases, streams, the Stripe mock
// ---------------------------------------------------------------------------------------------

/// A message of a stream.
#[derive(Debug, Clone)]
struct Stored {
    sequence: u64,
    subject: String,
    message_id: String,
    headers: BTreeMap<String, String>,
    payload: Value,
}

struct Streams {
    bus: EventBus,
}

impl Streams {
    async fn connect() -> Self {
        let url = std::env::var("NATS_URL").expect("NATS_URL of the fleet's NATS (its env.sh)");
        let bus = EventBus::connect(&url, Namespace::default())
            .await
            .expect("NATS reachable");
        Streams { bus }
    }

    async fn last_sequence(&self, stream: &str) -> u64 {
        match self.bus.jetstream().get_stream(stream).await {
            Ok(stream) => stream
                .get_info()
                .await
                .map(|info| info.state.last_sequence)
                .unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// Every message of `stream` after sequence `after`, in order.
    async fn read(&self, name: &str, after: u64) -> Vec<Stored> {
        let Ok(stream) = self.bus.jetstream().get_stream(name).await else {
            return Vec::new();
        };
        let Ok(info) = stream.get_info().await else {
            return Vec::new();
        };
        let first = info.state.first_sequence.max(after + 1);
        let last = info.state.last_sequence;
        let stream = &stream;
        futures::stream::iter(first..=last)
            .map(|sequence| async move { stream.get_raw_message(sequence).await.ok() })
            .buffered(64)
            .filter_map(|message| async move { message })
            .map(|message| Stored {
                sequence: message.sequence,
                subject: message.subject.to_string(),
                message_id: message
                    .headers
                    .get(async_nats::header::NATS_MESSAGE_ID)
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                headers: message
                    .headers
                    .iter()
                    .map(|(name, values)| {
                        let value = values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
                        (name.to_string(), value.join(","))
                    })
                    .collect(),
                payload: serde_json::from_slice(&message.payload).unwrap_or(Value::Null),
            })
            .collect()
            .await
    }
}

/// Everything the checks look at, read in one go.
struct World {
    /// tickets DB: the tickets of our sellers.
    tickets: BTreeMap<String, Document>,
    /// orders DB: the orders for those tickets, and its ticket replica.
    orders: BTreeMap<String, Document>,
    ticket_replica: HashMap<String, Document>,
    /// payments DB: its order replica and the payments.
    order_replica: HashMap<String, Document>,
    payments: HashMap<String, Vec<Document>>,
    /// Streams, by subject.
    events: HashMap<String, Vec<Stored>>,
    dead_letters: Vec<Stored>,
    /// Successful Stripe charges by order id.
    charges: HashMap<String, Vec<Value>>,
    /// Problems reading any of it.
    unreadable: Vec<String>,
}

fn hex(document: &Document) -> String {
    document
        .get_object_id("_id")
        .map(|id| id.to_hex())
        .unwrap_or_default()
}

fn int(document: &Document, key: &str) -> Option<i64> {
    match document.get(key)? {
        Bson::Int32(value) => Some(i64::from(*value)),
        Bson::Int64(value) => Some(*value),
        Bson::Double(value) => Some(*value as i64),
        _ => None,
    }
}

fn text<'a>(document: &'a Document, key: &str) -> Option<&'a str> {
    document.get_str(key).ok()
}

fn expires_at(order: &Document) -> Option<DateTime<Utc>> {
    order
        .get_datetime("expiresAt")
        .ok()
        .map(|at| at.to_chrono())
}

async fn find(
    db: &mongodb::Database,
    collection: &str,
    filter: Document,
) -> Result<Vec<Document>, String> {
    let cursor = db
        .collection::<Document>(collection)
        .find(filter)
        .await
        .map_err(|error| format!("{}.{collection}: {error}", db.name()))?;
    cursor
        .try_collect()
        .await
        .map_err(|error| format!("{}.{collection}: {error}", db.name()))
}

impl World {
    async fn load(sellers: &[String], dead_letters_after: u64) -> World {
        let mut world = World {
            tickets: BTreeMap::new(),
            orders: BTreeMap::new(),
            ticket_replica: HashMap::new(),
            order_replica: HashMap::new(),
            payments: HashMap::new(),
            events: HashMap::new(),
            dead_letters: Vec::new(),
            charges: HashMap::new(),
            unreadable: Vec::new(),
        };
        if let Err(error) = world.load_databases(sellers).await {
            world.unreadable.push(error);
        }
        let streams = Streams::connect().await;
        for stream in ["TICKETS", "ORDERS"] {
            for message in streams.read(stream, 0).await {
                world
                    .events
                    .entry(message.subject.clone())
                    .or_default()
                    .push(message);
            }
        }
        world.dead_letters = streams
            .read(common::events::bus::DEAD_LETTER_STREAM, dead_letters_after)
            .await;
        match successful_charges().await {
            Ok(charges) => {
                for charge in charges {
                    if let Some(order) = charge["metadata"]["orderId"].as_str() {
                        world
                            .charges
                            .entry(order.to_owned())
                            .or_default()
                            .push(charge.clone());
                    }
                }
            }
            Err(error) => world.unreadable.push(error),
        }
        world
    }

    async fn load_databases(&mut self, sellers: &[String]) -> Result<(), String> {
        let tickets_db = service_database("tickets").await?;
        let orders_db = service_database("orders").await?;
        let payments_db = service_database("payments").await?;

        for ticket in find(
            &tickets_db,
            "tickets",
            doc! { "userId": { "$in": sellers } },
        )
        .await?
        {
            self.tickets.insert(hex(&ticket), ticket);
        }
        let ticket_ids: Vec<&String> = self.tickets.keys().collect();
        let ticket_oids: Vec<ObjectId> = ticket_ids
            .iter()
            .filter_map(|id| ObjectId::parse_str(id).ok())
            .collect();
        for order in find(
            &orders_db,
            "orders",
            doc! { "ticket.id": { "$in": &ticket_ids } },
        )
        .await?
        {
            self.orders.insert(hex(&order), order);
        }
        for replica in find(
            &orders_db,
            "tickets",
            doc! { "_id": { "$in": &ticket_oids } },
        )
        .await?
        {
            self.ticket_replica.insert(hex(&replica), replica);
        }
        let order_ids: Vec<&String> = self.orders.keys().collect();
        let order_oids: Vec<ObjectId> = order_ids
            .iter()
            .filter_map(|id| ObjectId::parse_str(id).ok())
            .collect();
        for replica in find(
            &payments_db,
            "orders",
            doc! { "_id": { "$in": &order_oids } },
        )
        .await?
        {
            self.order_replica.insert(hex(&replica), replica);
        }
        for payment in find(
            &payments_db,
            "payments",
            doc! { "orderId": { "$in": &order_ids } },
        )
        .await?
        {
            let order = text(&payment, "orderId").unwrap_or_default().to_owned();
            self.payments.entry(order).or_default().push(payment);
        }
        Ok(())
    }

    fn events(&self, subject: &str) -> &[Stored] {
        self.events.get(subject).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The events of `subject` whose payload field `key` is `id`.
    fn events_of<'a>(&'a self, subject: &str, key: &str, id: &str) -> Vec<&'a Stored> {
        self.events(subject)
            .iter()
            .filter(|event| event.payload[key] == id)
            .collect()
    }
}

/// Every successful charge the Stripe mock holds, following its pages.
async fn successful_charges() -> Result<Vec<Value>, String> {
    let base =
        std::env::var("STRIPE_API_BASE").expect("STRIPE_API_BASE of the fleet's Stripe mock");
    let http = reqwest::Client::new();
    let mut charges = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/charges?limit=100", base.trim_end_matches('/'));
        if let Some(after) = &after {
            url.push_str(&format!("&starting_after={after}"));
        }
        let page: Value = http
            .get(url)
            .bearer_auth("sk_test_mock")
            .send()
            .await
            .map_err(|error| format!("Stripe mock: {error}"))?
            .json()
            .await
            .map_err(|error| format!("Stripe mock: {error}"))?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        after = data
            .last()
            .and_then(|charge| charge["id"].as_str())
            .map(str::to_owned);
        charges.extend(
            data.into_iter()
                .filter(|charge| charge["status"] == "succeeded"),
        );
        if page["has_more"] != true || after.is_none() {
            return Ok(charges);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the checks
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Report {
    problems: Vec<String>,
    notes: Vec<String>,
}

fn check(journal: &Journal, world: &World) -> Report {
    let mut report = Report::default();
    let problems = &mut report.problems;
    problems.extend(
        world
            .unreadable
            .iter()
            .map(|error| format!("cannot read: {error}")),
    );

    // Nothing answered 201 is missing.
    for id in &journal.tickets {
        if !world.tickets.contains_key(id) {
            problems.push(format!(
                "ticket {id} was answered 201 but is not in the tickets DB"
            ));
        }
    }
    for (id, entry) in &journal.orders {
        if !world.orders.contains_key(id) {
            problems.push(format!(
                "order {id} (ticket {}) was answered 201 but is not in the orders DB",
                entry.ticket_id
            ));
        }
    }

    // Message ids are unique in each stream (the duplicate window did its work).
    for (subject, events) in &world.events {
        let mut seen = HashMap::new();
        for event in events {
            *seen.entry(event.message_id.as_str()).or_insert(0) += 1;
        }
        for (id, count) in seen {
            if count > 1 {
                problems.push(format!("{subject}: message id {id:?} stored {count} times"));
            }
        }
    }

    let mut raced = Vec::new();
    let mut orders_of_ticket: HashMap<&str, Vec<&Document>> = HashMap::new();
    for (id, order) in &world.orders {
        let ticket_id = order
            .get_document("ticket")
            .ok()
            .and_then(|ticket| text(ticket, "id"))
            .unwrap_or_default();
        orders_of_ticket.entry(ticket_id).or_default().push(order);
        check_order(journal, world, id, order, problems, &mut raced);
    }
    for (id, ticket) in &world.tickets {
        check_ticket(
            world,
            id,
            ticket,
            orders_of_ticket
                .get(id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            problems,
        );
    }

    for letter in &world.dead_letters {
        problems.push(format!(
            "dead letter #{} from {}: {} (message {}, {} deliveries): {}",
            letter.sequence,
            letter
                .headers
                .get("Ticketing-Original-Subject")
                .cloned()
                .unwrap_or_default(),
            letter
                .headers
                .get("Ticketing-Error")
                .cloned()
                .unwrap_or_default(),
            letter
                .headers
                .get("Ticketing-Original-Msg-Id")
                .cloned()
                .unwrap_or_default(),
            letter
                .headers
                .get("Ticketing-Deliveries")
                .cloned()
                .unwrap_or_default(),
            letter.payload
        ));
    }

    let count = |status: &str| {
        world
            .orders
            .values()
            .filter(|order| text(order, "status") == Some(status))
            .count()
    };
    report.notes.push(format!(
        "the fleet holds {} tickets and {} orders of this test: {} complete, {} cancelled, {} other",
        world.tickets.len(),
        world.orders.len(),
        count("complete"),
        count("cancelled"),
        world.orders.len() - count("complete") - count("cancelled"),
    ));
    report.notes.push(format!(
        "payments that lost the race against their order's expiration (order cancelled, charge \
         refunded): {}{}",
        raced.len(),
        if raced.is_empty() {
            String::new()
        } else {
            format!(" ({})", raced.join(", "))
        }
    ));
    report
}

fn check_order(
    journal: &Journal,
    world: &World,
    id: &str,
    order: &Document,
    problems: &mut Vec<String>,
    raced: &mut Vec<String>,
) {
    let status = text(order, "status").unwrap_or_default();
    let version = int(order, "version").unwrap_or(-1);
    let entry = journal.orders.get(id);
    let payments = world.payments.get(id).map(Vec::len).unwrap_or(0);
    let created = world.events_of("order.created", "id", id);
    let cancelled = world.events_of("order.cancelled", "id", id);
    let paid_events = world.events_of("payment.created", "orderId", id);
    let expired = world.events_of("expiration.complete", "orderId", id);
    let what = match entry {
        Some(entry) => format!("order {id} ({:?}, payment {:?})", entry.plan, entry.payment),
        None => format!("order {id} (not acknowledged to its buyer)"),
    };

    // Settled, consistently with its payment. A payment may lose the race against the order's
    // expiration (stored after its cancellation): the order stays cancelled and payments
    // refunds the charge; tolerated, and reported. A payment stored before the cancellation
    // beat it: that order must be complete.
    let (kept, refunded): (Vec<&Value>, Vec<&Value>) = world
        .charges
        .get(id)
        .into_iter()
        .flatten()
        .partition(|charge| charge["refunded"] != true);
    let refund_recorded = world
        .payments
        .get(id)
        .into_iter()
        .flatten()
        .any(|payment| payment.get_str("refundId").is_ok());
    let race = status == "cancelled"
        && paid_events.len() == 1
        && cancelled.len() == 1
        && cancelled[0].sequence < paid_events[0].sequence;
    match status {
        "complete" => {
            if payments != 1 || paid_events.len() != 1 {
                problems.push(format!(
                    "{what} is complete with {payments} payment record(s) and {} payment.created",
                    paid_events.len()
                ));
            }
        }
        "cancelled" if race => raced.push(id.to_owned()),
        "cancelled" => {
            if payments > 0 || !paid_events.is_empty() {
                problems.push(format!(
                    "{what} is cancelled although paid ({payments} payment record(s), {} payment.created{})",
                    paid_events.len(),
                    match (paid_events.first(), cancelled.first()) {
                        (Some(paid), Some(cancel)) => format!(
                            "; payment.created stored at #{} before order.cancelled at #{}",
                            paid.sequence, cancel.sequence
                        ),
                        _ => String::new(),
                    }
                ));
            }
        }
        other => problems.push(format!(
            "{what} is still {other:?} (expired at {:?})",
            expires_at(order)
        )),
    }
    if let Some(entry) = entry {
        match (&entry.payment, status) {
            (Payment::Paid { .. }, "complete") => {}
            (Payment::Paid { .. }, "cancelled") if race => {}
            (Payment::Paid { .. }, _) => problems.push(format!("{what} was paid but is {status}")),
            (Payment::Unsure(_), _) => {}
            (_, "complete") => problems.push(format!("{what} is complete but was never paid")),
            _ => {}
        }
        if entry.cancelled && status != "cancelled" {
            problems.push(format!("{what}: DELETE answered 204 but it is {status}"));
        }
    }
    // Money: one charge kept per complete order; a raced one refunded; none for the others.
    let expected = match status {
        "complete" => (1, 0),
        _ if race => (0, 1),
        _ => (0, 0),
    };
    if (kept.len(), refunded.len()) != expected {
        problems.push(format!(
            "{what} is {status} with {} Stripe charge(s) kept and {} refunded (expected {} and {}){}",
            kept.len(),
            refunded.len(),
            expected.0,
            expected.1,
            match order_claim(world, id) {
                Some(claim) => format!("; the payments replica still holds a claim {claim}"),
                None => String::new(),
            }
        ));
    }
    if refund_recorded != race {
        problems.push(format!(
            "{what} is {status}: its payment record {} a refund",
            if refund_recorded { "holds" } else { "lacks" }
        ));
    }

    // Its events, each once.
    if created.len() != 1 {
        problems.push(format!(
            "{what}: {} order.created in the stream",
            created.len()
        ));
    }
    let expect_cancelled = usize::from(status == "cancelled");
    if cancelled.len() != expect_cancelled {
        problems.push(format!(
            "{what} is {status} with {} order.cancelled in the stream",
            cancelled.len()
        ));
    } else if let Some(event) = cancelled.first()
        && event.payload["version"].as_i64() != Some(version)
    {
        problems.push(format!(
            "{what}: order.cancelled at version {} but the order is at {version}",
            event.payload["version"]
        ));
    }
    if paid_events.len() > 1 {
        problems.push(format!("{what}: {} payment.created", paid_events.len()));
    }
    if expires_at(order).is_some_and(|at| at < Utc::now() - chrono::Duration::seconds(2))
        && expired.len() != 1
    {
        problems.push(format!(
            "{what}: {} expiration.complete after its expiry",
            expired.len()
        ));
    }
    if order
        .get_array("outbox")
        .is_ok_and(|outbox| !outbox.is_empty())
    {
        problems.push(format!("{what}: events still waiting in its outbox"));
    }

    // The payments replica: at the version of the order's last event, cancelled when cancelled,
    // complete once payments recorded its payment (completion publishes no event, so a
    // complete order is one version ahead of it).
    match world.order_replica.get(id) {
        None => problems.push(format!(
            "{what} is missing from the payments service's replica"
        )),
        Some(replica) => {
            let expected_version = if status == "complete" {
                version - 1
            } else {
                version
            };
            // Pending orders: `created`, or `awaiting:payment` once confirmed (order.confirmed).
            let expected_status = status;
            let got = (int(replica, "version"), text(replica, "status"));
            if got != (Some(expected_version), Some(expected_status)) {
                problems.push(format!(
                    "{what} is {status} at version {version}; the payments replica is {:?} at {:?} \
                     (expected {expected_status} at {expected_version})",
                    got.1, got.0
                ));
            }
        }
    }
}

fn order_claim(world: &World, id: &str) -> Option<String> {
    world
        .order_replica
        .get(id)
        .and_then(|replica| replica.get_document("claim").ok())
        .map(|claim| claim.to_string())
}

fn check_ticket(
    world: &World,
    id: &str,
    ticket: &Document,
    orders: &[&Document],
    problems: &mut Vec<String>,
) {
    let version = int(ticket, "version").unwrap_or(-1);
    let live: Vec<String> = orders
        .iter()
        .filter(|order| text(order, "status") != Some("cancelled"))
        .map(|order| hex(order))
        .collect();
    if live.len() > 1 {
        problems.push(format!(
            "ticket {id} is held by {} live orders: {live:?}",
            live.len()
        ));
    }
    let holder = text(ticket, "orderId");
    if holder != live.first().map(String::as_str) {
        problems.push(format!(
            "ticket {id} (version {version}) has orderId {holder:?}, but its live order is {:?}",
            live.first()
        ));
    }
    if ticket
        .get_array("outbox")
        .is_ok_and(|outbox| !outbox.is_empty())
    {
        problems.push(format!("ticket {id}: events still waiting in its outbox"));
    }

    // Its events: created once, updated once per version.
    let created = world.events_of("ticket.created", "id", id);
    if created.len() != 1 {
        problems.push(format!(
            "ticket {id}: {} ticket.created in the stream",
            created.len()
        ));
    }
    let mut versions: Vec<i64> = world
        .events_of("ticket.updated", "id", id)
        .iter()
        .filter_map(|event| event.payload["version"].as_i64())
        .collect();
    versions.sort_unstable();
    if versions != (1..=version).collect::<Vec<_>>() {
        problems.push(format!(
            "ticket {id} is at version {version}, the stream has ticket.updated versions {versions:?}"
        ));
    }

    // The orders service's replica: same version, title and price.
    let fields = |document: &Document| {
        (
            int(document, "version"),
            text(document, "title").map(str::to_owned),
            int(document, "priceCents"),
        )
    };
    match world.ticket_replica.get(id) {
        None => problems.push(format!(
            "ticket {id} is missing from the orders service's replica"
        )),
        Some(replica) if fields(replica) != fields(ticket) => problems.push(format!(
            "ticket {id}: the orders replica has (version, title, price) {:?}, the tickets DB {:?}",
            fields(replica),
            fields(ticket)
        )),
        Some(_) => {}
    }
}

/// The database of `service` on its own server (`TICKETS_MONGO_URL`, ... of the infra's env.sh).
async fn service_database(service: &str) -> Result<mongodb::Database, String> {
    let variable = format!("{}_MONGO_URL", service.to_uppercase());
    let url = std::env::var(&variable)
        .unwrap_or_else(|_| panic!("{variable} of the fleet's MongoDB server (its env.sh)"));
    let mut options = mongodb::options::ClientOptions::parse(&url)
        .await
        .map_err(|error| error.to_string())?;
    options.server_selection_timeout = Some(Duration::from_secs(5));
    let client = mongodb::Client::with_options(options).map_err(|error| error.to_string())?;
    Ok(client.database(service))
}
