//! Fault tests (issue 7, section 2). With a purchase workload in flight, one fault at a time:
//! each service is killed (SIGKILL) and started again, then NATS, the MongoDB server and Redis
//! are restarted. Then the fleet must converge, and nothing may be lost or done twice:
//! - every order ends `complete` (exactly when paid) or `cancelled`, none left pending;
//! - every ticket is held by its one live order, or by none;
//! - every replica (orders' tickets, payments' orders) is at its source's version;
//! - every event is in its stream exactly once, one charge per paid order, no dead letters.
//!
//! With several instances of every service (`FLEET_REPLICAS`: scripts/test.sh runs it once with
//! two), the first instance of each is the one killed while the others go on serving.
//!
//! Ignored by a plain `cargo test`: `scripts/test.sh` runs it alone, after the other
//! end-to-end tests (it restarts servers they share), against the fleet it started.
//!
//! `workload` drives the shoppers and writes the `journal`; `fleet` kills and starts the services
//! (crates/fleet's supervisor) and restarts the servers; `world` reads what the fleet holds
//! afterwards; `checks` holds one function per invariant.

mod checks;
mod fleet;
mod journal;
mod workload;
mod world;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use e2e::gateway;
use futures::future::join_all;
use tokio::time::{Instant, sleep};

use self::fleet::Fleet;
use checks::{Report, check};
use journal::Journal;
use workload::{Shop, USERS};
use world::{Streams, World, expires_at};

/// The workload runs alone this long before the first fault.
const WARM_UP: Duration = Duration::from_secs(3);
/// How long a killed service stays down.
const DOWNTIME: Duration = Duration::from_secs(4);
/// Orders stays down longer than an expiration window: payments go on meanwhile, so when it
/// is back, payments and expirations of the same orders wait for it side by side.
const ORDERS_DOWNTIME: Duration = Duration::from_secs(10);
/// Orders paid while the orders service is down (and expiring before it is back).
const PAID_WHILE_ORDERS_DOWN: usize = 4;
/// Between a fault's recovery and the next fault.
const PAUSE: Duration = Duration::from_secs(2);
/// After the last order's expiry, how long the fleet has to converge.
const CONVERGENCE: Duration = Duration::from_secs(60);

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
    let dead_letters_before = Streams::connect()
        .await
        .last_sequence(common::events::bus::DEAD_LETTER_STREAM)
        .await;
    let shop = Arc::new(Shop::open(&gateway()).await);
    let shoppers: Vec<_> = (0..USERS)
        .map(|user| tokio::spawn(shop.clone().shop(user)))
        .collect();

    sleep(WARM_UP).await;
    let faults = inject_faults(&fleet, &shop).await;
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

    let report = converge(&journal, &sellers, dead_letters_before).await;
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

/// One fault at a time, the workload going on: each service killed and started again, then
/// each server restarted. Says what was done and how long each took to come back.
async fn inject_faults(fleet: &Fleet, shop: &Shop) -> Vec<String> {
    let mut faults = Vec::new();
    for service in ["auth", "tickets", "orders", "payments", "expiration"] {
        let held = if service == "orders" {
            shop.orders_to_pay_later(PAID_WHILE_ORDERS_DOWN).await
        } else {
            Vec::new()
        };
        let t0 = Instant::now();
        fleet.kill(service).await;
        if service == "orders" {
            // Payments go on without orders; these orders expire before it is back, so it then
            // finds each one's payment and, stored after it, its expiration.
            let buyer = &shop.users[USERS];
            join_all(held.iter().map(|order| shop.pay(buyer, order))).await;
            sleep(ORDERS_DOWNTIME.saturating_sub(t0.elapsed())).await;
        } else {
            sleep(DOWNTIME).await;
        }
        if let Err(error) = fleet.start(service).await {
            panic!("{error}");
        }
        let which = match fleet.replicas() {
            1 => String::new(),
            n => format!(" (1 of {n} instances)"),
        };
        faults.push(format!(
            "kill -9 {service}{which}: back in {:.1?}",
            t0.elapsed()
        ));
        sleep(PAUSE).await;
    }
    for server in ["nats", "mongo", "redis"] {
        let t0 = Instant::now();
        if let Err(error) = fleet.infra(&[server]).await {
            panic!("{error}");
        }
        faults.push(format!("restart {server}: back in {:.1?}", t0.elapsed()));
        sleep(PAUSE).await;
    }
    faults
}

/// Converged = every check passes; polls until then or until `CONVERGENCE` after the last
/// expiry, and returns the last report.
async fn converge(journal: &Journal, sellers: &[String], dead_letters_before: u64) -> Report {
    let mut last_expiry = Utc::now();
    loop {
        let world = World::load(sellers, dead_letters_before).await;
        if let Some(latest) = world.orders.values().filter_map(expires_at).max() {
            last_expiry = last_expiry.max(latest);
        }
        let report = check(journal, &world);
        let now = Utc::now();
        let settled = now > last_expiry + chrono::Duration::seconds(2);
        if settled && report.problems.is_empty() {
            return report;
        }
        if now > last_expiry + chrono::Duration::from_std(CONVERGENCE).unwrap() {
            return report;
        }
        sleep(Duration::from_secs(2)).await;
    }
}
