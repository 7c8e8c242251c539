//! Straight to the services, for what the gateway may answer itself.

use serde_json::json;

use crate::cases::Cases;
use crate::expect::{Expect, anonymous, api};
use crate::fixture::UNKNOWN_ID;
use crate::raw_http::Req;

pub fn direct_cases(cases: &mut Cases) {
    let fx = cases.fx;
    let big_cookie = format!("session={}", "A".repeat(10 * 1024)).into_bytes();
    let big_cookie = Some(big_cookie.as_slice());
    let cookie = cases.cookie();
    let pay = json!({ "orderId": UNKNOWN_ID, "token": "tok_visa" });
    let mut direct: Vec<(&str, &str, &str, Req, Expect)> = vec![
        (
            "auth",
            "GET /api/users/currentuser",
            "a 10 KB cookie",
            Req::new("GET", "/api/users/currentuser").cookie(big_cookie),
            anonymous(),
        ),
        (
            "tickets",
            "POST /api/tickets",
            "a 10 KB cookie",
            Req::new("POST", "/api/tickets")
                .cookie(big_cookie)
                .json(&json!({ "title": "x", "price": 1 })),
            api(&[401]),
        ),
        (
            "orders",
            "GET /api/orders",
            "a 10 KB cookie",
            Req::new("GET", "/api/orders").cookie(big_cookie),
            api(&[401]),
        ),
        (
            "payments",
            "POST /api/payments",
            "a 10 KB cookie",
            Req::new("POST", "/api/payments")
                .cookie(big_cookie)
                .json(&pay),
            api(&[401]),
        ),
        (
            "client",
            "GET /",
            "a 10 KB cookie",
            Req::new("GET", "/").cookie(big_cookie),
            Expect::Page,
        ),
        (
            "tickets",
            "GET /api/tickets/:id",
            "id %00",
            Req::new("GET", "/api/tickets/%00"),
            api(&[400]),
        ),
        (
            "orders",
            "GET /api/orders/:id",
            "id %00",
            Req::new("GET", "/api/orders/%00").cookie(cookie),
            api(&[400]),
        ),
        (
            "tickets",
            "GET /api/tickets/:id",
            "id of 20,000 characters",
            Req::new("GET", format!("/api/tickets/{}", "f".repeat(20_000))),
            api(&[400]),
        ),
        (
            "tickets",
            "GET /api/tickets/:id",
            "id with encoded slashes climbing out",
            Req::new("GET", "/api/tickets/..%2F..%2Fusers%2Fcurrentuser"),
            api(&[400]),
        ),
        (
            "tickets",
            "TRACE /api/tickets",
            "TRACE",
            Req::new("TRACE", "/api/tickets"),
            api(&[405]),
        ),
        (
            "auth",
            "POST /api/users/signup",
            "a 2 MiB body",
            Req::new("POST", "/api/users/signup")
                .body(Some("application/json"), vec![b'a'; 2 * 1024 * 1024]),
            api(&[413]),
        ),
        (
            "client",
            "POST /auth/signin",
            "a 2 MiB form",
            Req::new("POST", "/auth/signin").body(
                Some("application/x-www-form-urlencoded"),
                vec![b'a'; 2 * 1024 * 1024],
            ),
            Expect::Page,
        ),
        (
            "expiration",
            "GET /api/tickets",
            "a route the expiration service does not have",
            Req::new("GET", "/api/tickets"),
            api(&[404]),
        ),
        (
            "expiration",
            "POST /readyz",
            "a wrong method on health",
            Req::new("POST", "/readyz").body(Some("application/json"), "{"),
            api(&[405]),
        ),
        (
            "expiration",
            "GET /readyz/%00",
            "a NUL below health",
            Req::new("GET", "/readyz/%00"),
            api(&[404]),
        ),
    ];
    for service in ["auth", "tickets", "orders", "payments", "client"] {
        direct.push((
            service,
            "GET /healthz",
            "a malformed JSON body and a forged cookie",
            Req::new("GET", "/healthz")
                .cookie(Some(b"session=!!!"))
                .body(Some("application/json"), "{"),
            api(&[200]),
        ));
    }
    for (service, route, what, req, expect) in direct {
        if let Some(target) = fx.service(service) {
            let target = target.clone();
            cases.add_to(&target, route, what, req, expect);
        }
    }
}
