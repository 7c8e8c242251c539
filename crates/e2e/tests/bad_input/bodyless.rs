//! Routes without a body, sent one anyway; the query string carries operators.

use crate::cases::Cases;
use crate::expect::{anonymous, api, api_checked};
use crate::fixture::UNKNOWN_ID;
use crate::raw_http::Req;

pub fn bodyless_cases(cases: &mut Cases) {
    let cookie = cases.cookie();
    let garbage = |method: &str, path: &str| {
        Req::new(method, path).body(Some("application/json"), "{\"$where\": ")
    };
    // Without the fixture's cookie: signing out would revoke the session the other cases use.
    cases.add(
        "POST /api/users/signout",
        "malformed JSON (signout reads no body)",
        garbage("POST", "/api/users/signout"),
        api(&[200]),
    );
    cases.add(
        "POST /api/users/signout",
        "a 100 KiB body (signout reads no body)",
        Req::new("POST", "/api/users/signout").body(Some("text/plain"), vec![b'x'; 100 * 1024]),
        api(&[200, 413]),
    );
    cases.add(
        "POST /api/users/signout",
        "an XML body",
        Req::new("POST", "/api/users/signout").body(Some("application/xml"), "<a/>"),
        api(&[200]),
    );
    cases.add(
        "GET /api/users/currentuser",
        "malformed JSON body",
        garbage("GET", "/api/users/currentuser"),
        anonymous(),
    );
    cases.add(
        "GET /api/users/currentuser",
        "operators in the query",
        Req::new("GET", "/api/users/currentuser?id[$ne]=null&email=%00"),
        anonymous(),
    );
    cases.add(
        "GET /api/tickets",
        "malformed JSON body",
        garbage("GET", "/api/tickets"),
        api(&[200]),
    );
    for query in [
        "?title[$regex]=.*",
        "?userId[$ne]=null&orderId[$exists]=true",
        "?%00=%00",
        "?limit=-1&sort=%24where",
        "?a=%FF%FE",
    ] {
        cases.add(
            "GET /api/tickets",
            format!("query {query}"),
            Req::new("GET", format!("/api/tickets{query}")),
            api(&[200]),
        );
    }
    let user_id = cases.fx.user_id.clone();
    cases.add(
        "GET /api/orders",
        "operators in the query do not widen the list",
        Req::new(
            "GET",
            "/api/orders?userId[$ne]=null&userId=%7B%22%24ne%22%3Anull%7D",
        )
        .cookie(cookie),
        api_checked(&[200], move |orders| match orders.as_array() {
            Some(list) if list.iter().all(|order| order["userId"] == user_id.as_str()) => Ok(()),
            _ => Err("orders of other users, or not a list".into()),
        }),
    );
    cases.add(
        "GET /api/orders",
        "malformed JSON body",
        garbage("GET", "/api/orders").cookie(cookie),
        api(&[200]),
    );
    cases.add(
        "GET /api/tickets/:id",
        "malformed JSON body",
        garbage("GET", &format!("/api/tickets/{}", cases.fx.tickets[0])),
        api(&[200]),
    );
    cases.add(
        "DELETE /api/orders/:id",
        "malformed JSON body",
        garbage("DELETE", &format!("/api/orders/{UNKNOWN_ID}")).cookie(cookie),
        api(&[404]),
    );
}
