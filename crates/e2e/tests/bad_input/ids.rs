//! Ids in the path: malformed, unknown, and dot segments.

use serde_json::{Value, json};

use crate::cases::Cases;
use crate::expect::{Expect, api};
use crate::fixture::UNKNOWN_ID;
use crate::raw_http::Req;

/// Malformed ids, as written into the path: each one a 400 from the API (`Invalid id`), a 404
/// page from the web client.
pub fn malformed_ids() -> Vec<(&'static str, String)> {
    vec![
        ("123", "123".into()),
        ("25 hex digits", "0123456789abcdef012345678".into()),
        ("23 hex digits", "0123456789abcdef0123456".into()),
        ("24 non-hex characters", "zzzzzzzzzzzzzzzzzzzzzzzz".into()),
        ("an operator, encoded", "%7B%22%24ne%22%3Anull%7D".into()),
        ("$where", "$where".into()),
        ("%24gt", "%24gt".into()),
        ("null", "null".into()),
        ("-1", "-1".into()),
        ("..;", "..;".into()),
        ("%00", "%00".into()),
        ("a valid id then %00", format!("{UNKNOWN_ID}%00")),
        ("%FF (invalid UTF-8)", "%FF".into()),
        ("an emoji", "%F0%9F%8E%AB".into()),
        ("an RTL override", "%E2%80%AEffffffffffffffffffffff".into()),
        ("a space", "ffffffffffff%20ffffffffff".into()),
        ("a CR LF", "ffff%0D%0ASet-Cookie:%20x=y".into()),
        ("4,000 characters", "a".repeat(4_000)),
        (
            "a valid id 250 times (6,000 characters)",
            UNKNOWN_ID.repeat(250),
        ),
        ("20,000 characters", "f".repeat(20_000)),
    ]
}

pub fn id_cases(cases: &mut Cases) {
    let fx = cases.fx;
    let cookie = cases.cookie();
    let edit = json!({ "title": "Renamed", "price": 5 });
    struct IdRoute {
        route: &'static str,
        method: &'static str,
        prefix: &'static str,
        body: Option<Value>,
    }
    let routes = [
        IdRoute {
            route: "GET /api/tickets/:id",
            method: "GET",
            prefix: "/api/tickets/",
            body: None,
        },
        IdRoute {
            route: "PUT /api/tickets/:id",
            method: "PUT",
            prefix: "/api/tickets/",
            body: Some(edit),
        },
        IdRoute {
            route: "GET /api/orders/:id",
            method: "GET",
            prefix: "/api/orders/",
            body: None,
        },
        IdRoute {
            route: "DELETE /api/orders/:id",
            method: "DELETE",
            prefix: "/api/orders/",
            body: None,
        },
    ];
    for route in &routes {
        let make = |id: &str| {
            let req = Req::new(route.method, format!("{}{id}", route.prefix)).cookie(cookie);
            match &route.body {
                Some(body) => req.json(body),
                None => req,
            }
        };
        for (what, id) in malformed_ids() {
            cases.add(route.route, format!("id {what}"), make(&id), api(&[400]));
        }
        for (what, id, statuses) in [
            ("unknown", UNKNOWN_ID.to_owned(), vec![404]),
            ("in capitals", UNKNOWN_ID.to_uppercase(), vec![404, 400]),
            ("followed by a slash", format!("{UNKNOWN_ID}/"), vec![404]),
            (
                "followed by a segment",
                format!("{UNKNOWN_ID}/extra"),
                vec![404],
            ),
            ("empty", String::new(), vec![404, 405]),
            ("after a double slash", format!("/{UNKNOWN_ID}"), vec![404]),
        ] {
            cases.add(route.route, format!("id {what}"), make(&id), api(&statuses));
        }
        // Dot segments: the gateway resolves them and the path may land anywhere, on a page too.
        for (what, id) in [
            ("..", ".."),
            ("../", "../"),
            ("../../etc/passwd", "../../etc/passwd"),
            ("%2e%2e", "%2e%2e"),
            (".%2e/%2e.", ".%2e/%2e."),
            ("./", "./"),
            // nginx decodes %2F before it resolves dot segments (and routes on the result).
            (
                "encoded slashes climbing out",
                "..%2F..%2Fusers%2Fcurrentuser",
            ),
        ] {
            cases.add(route.route, format!("id {what}"), make(id), Expect::Either);
        }
    }
    // The owner's own ticket through odd but equivalent spellings is still found.
    let ticket = &fx.tickets[0];
    cases.add(
        "GET /api/tickets/:id",
        "a real id with a query of operators",
        Req::new("GET", format!("/api/tickets/{ticket}?id[$ne]=null")),
        api(&[200]),
    );
}
