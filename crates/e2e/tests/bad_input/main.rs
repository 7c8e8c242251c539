//! Bad input sweep (issue 7, section 3): every route of the contract, through the gateway of the
//! running fleet, fed malformed, mistyped, missing, unknown, oversized, unicode, injection-shaped
//! and forged input, malformed ids and wrong methods.
//!
//! Every API answer must be a 4xx in the contract's error shape, or a success the contract allows
//! (unknown fields are ignored, signout always succeeds, a bad cookie is an anonymous caller);
//! never a 5xx, never a dropped connection. Pages answer HTML (or redirect), never a 5xx. At the
//! end every service is still ready and the data written with odd characters still shows.
//!
//! Requests go out as raw HTTP/1.1, so paths reach the gateway exactly as written (`..`, `%00`),
//! which a URL library would normalise first, and headers may carry bytes no client library sends.
//!
//! Ignored by a plain `cargo test`: `scripts/test.sh` starts the fleet and runs it.

//! The cases, by what they feed: `bodies` and `fields` (JSON bodies), `bodyless`, `ids`,
//! `methods`, `cookies`, `pages`, `direct` (straight to the services); `afterwards` checks the
//! fleet still works. `raw_http` sends them, `expect` judges the answers, `cases` runs them.

mod afterwards;
mod bodies;
mod body_routes;
mod bodyless;
mod cases;
mod cookies;
mod direct;
mod expect;
mod fields;
mod fixture;
mod ids;
mod methods;
mod pages;
mod raw_http;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use cases::{Case, Cases, run};
use fixture::Fixture;

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn every_route_survives_bad_input() {
    let started = Instant::now();
    let fx = Arc::new(Fixture::set_up().await);
    let cases = all_cases(&fx);
    let total = cases.len();
    let outcomes = run(&cases).await;

    let mut failures = Vec::new();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for (case, outcome) in cases.iter().zip(&outcomes) {
        if let Ok(answer) = outcome {
            *statuses.entry(answer.status).or_default() += 1;
        }
        let label = format!("{} [{}] | {}", case.route, case.target.name, case.name);
        failures.extend(expect::failure(
            &label,
            &case.expect,
            &case.req.method,
            outcome,
        ));
    }
    let swept = started.elapsed();
    failures.extend(afterwards::still_healthy(&fx).await);
    eprintln!(
        "bad input sweep: {total} requests in {:.1}s (setup and sweep), then health checks; statuses {statuses:?}",
        swept.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} bad-input cases failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// Every case, in the order they are reported.
fn all_cases(fx: &Fixture) -> Vec<Case> {
    let mut cases = Cases::new(fx);
    for route in body_routes::body_routes() {
        bodies::body_cases(&mut cases, &route);
    }
    bodyless::bodyless_cases(&mut cases);
    ids::id_cases(&mut cases);
    methods::method_cases(&mut cases);
    cookies::cookie_cases(&mut cases);
    pages::page_cases(&mut cases);
    direct::direct_cases(&mut cases);
    cases.into_cases()
}
