//! Afterwards: the fleet still works.

use crate::expect::{Expect, api, api_checked, failure};
use crate::fixture::{Fixture, Target};
use crate::raw_http::{Req, send};

/// Every service still ready, and what the sweep stored (odd titles, edits) still shows.
pub async fn still_healthy(fx: &Fixture) -> Vec<String> {
    let mut failures = Vec::new();
    let probe = |target: &Target, what: &str, req: Req, expect: Expect| {
        let target = target.clone();
        let what = what.to_owned();
        async move {
            let outcome = send(&target, &req).await;
            let label = format!("afterwards, {what} [{}]", target.name);
            failure(&label, &expect, &req.method, &outcome)
        }
    };
    let mut checks = Vec::new();
    for (name, target) in &fx.services {
        checks.push(probe(
            target,
            &format!("{name} /readyz"),
            Req::new("GET", "/readyz"),
            api(&[200]),
        ));
    }
    let gateway = fx.gateway.clone();
    checks.push(probe(
        &gateway,
        "GET /api/tickets (lists the odd titles)",
        Req::new("GET", "/api/tickets"),
        api_checked(&[200], |body| {
            body.as_array()
                .map(|_| ())
                .ok_or_else(|| "not a list".to_owned())
        }),
    ));
    for ticket in &fx.tickets {
        checks.push(probe(
            &gateway,
            "GET /api/tickets/:id (an edited ticket)",
            Req::new("GET", format!("/api/tickets/{ticket}")),
            api(&[200]),
        ));
        checks.push(probe(
            &gateway,
            "GET /tickets/:id (an edited ticket's page)",
            Req::new("GET", format!("/tickets/{ticket}")),
            Expect::Page,
        ));
    }
    checks.push(probe(
        &gateway,
        "GET / (the listing page)",
        Req::new("GET", "/"),
        Expect::Page,
    ));
    let user_id = fx.user_id.clone();
    checks.push(probe(
        &gateway,
        "GET /api/users/currentuser (the real cookie)",
        Req::new("GET", "/api/users/currentuser").cookie(Some(fx.cookie.as_bytes())),
        api_checked(&[200], move |body| {
            (body["currentUser"]["id"] == user_id.as_str())
                .then_some(())
                .ok_or_else(|| "the real cookie is not recognised".to_owned())
        }),
    ));
    for check in checks {
        if let Some(failure) = check.await {
            failures.push(failure);
        }
    }
    failures
}
