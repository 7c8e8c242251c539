//! Methods a route does not have, HEAD, TRACE and unknown API routes.

use serde_json::json;

use crate::cases::Cases;
use crate::expect::api;
use crate::fixture::UNKNOWN_ID;
use crate::raw_http::Req;

pub fn method_cases(cases: &mut Cases) {
    let cookie = cases.cookie();
    let id = UNKNOWN_ID;
    let ticket = cases.fx.tickets[0].clone();
    let wrong: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "/api/users/signup",
            "/api/users/signup".into(),
            vec!["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW"],
        ),
        (
            "/api/users/signin",
            "/api/users/signin".into(),
            vec!["GET", "PUT", "PATCH", "DELETE"],
        ),
        (
            "/api/users/signout",
            "/api/users/signout".into(),
            vec!["GET", "PUT", "PATCH", "DELETE"],
        ),
        (
            "/api/users/currentuser",
            "/api/users/currentuser".into(),
            vec!["POST", "PUT", "PATCH", "DELETE"],
        ),
        (
            "/api/tickets",
            "/api/tickets".into(),
            vec!["PUT", "PATCH", "DELETE", "OPTIONS"],
        ),
        (
            "/api/tickets/:id",
            format!("/api/tickets/{ticket}"),
            vec!["POST", "PATCH", "DELETE"],
        ),
        (
            "/api/orders",
            "/api/orders".into(),
            vec!["PUT", "PATCH", "DELETE"],
        ),
        (
            "/api/orders/:id",
            format!("/api/orders/{id}"),
            vec!["POST", "PUT", "PATCH"],
        ),
        (
            "/api/payments",
            "/api/payments".into(),
            vec!["GET", "PUT", "PATCH", "DELETE"],
        ),
    ];
    for (route, path, methods) in wrong {
        for method in methods {
            cases.add(
                &format!("{method} {route}"),
                "a method the route does not have",
                Req::new(method, path.clone())
                    .cookie(cookie)
                    .json(&json!({ "title": "x", "price": 1 })),
                api(&[405]),
            );
        }
    }
    for (route, path, statuses) in [
        (
            "HEAD /api/users/currentuser",
            "/api/users/currentuser",
            vec![200],
        ),
        ("HEAD /api/tickets", "/api/tickets", vec![200]),
        ("HEAD /api/payments", "/api/payments", vec![405]),
    ] {
        cases.add(
            route,
            "HEAD",
            Req::new("HEAD", path).cookie(cookie),
            api(&statuses),
        );
    }
    cases.add(
        "TRACE /api/tickets",
        "TRACE (the gateway refuses it itself)",
        Req::new("TRACE", "/api/tickets"),
        api(&[405]),
    );
    cases.add(
        "GET /api/nope",
        "an unknown API route",
        Req::new("GET", "/api/users/nope").cookie(cookie),
        api(&[404]),
    );
    cases.add(
        "GET /api/tickets/:id/extra",
        "an unknown API route below a resource",
        Req::new("GET", format!("/api/tickets/{ticket}/extra")),
        api(&[404]),
    );
}
