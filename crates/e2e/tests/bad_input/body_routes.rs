//! The routes that take a JSON body: their fields, a valid body, and what it gets.

use serde_json::{Map, Value, json};

use crate::expect::{Expect, api, api_checked};
use crate::fixture::{EDIT_LANES, Fixture, UNKNOWN_ID};

#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Email,
    Password,
    Title,
    Price,
    Id,
    Version,
    Token,
}

pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

pub type ValidBody = Box<dyn Fn(&Fixture, usize) -> Map<String, Value>>;
pub type CasePath = Box<dyn Fn(&Fixture, usize) -> String>;

pub struct BodyRoute {
    /// `POST /api/users/signup`
    pub route: &'static str,
    pub method: &'static str,
    /// The path of case `n` (the ticket edits spread over tickets).
    pub path: CasePath,
    /// The lane of case `n`, for routes whose cases change one thing.
    pub lane: Box<dyn Fn(usize) -> Option<String>>,
    pub signed_in: bool,
    pub fields: Vec<Field>,
    /// A valid body for case `n`.
    pub valid: ValidBody,
    /// The answer to the valid body.
    pub ok: u16,
    /// What a valid-looking but different value of a field may get besides a 400.
    pub changed_ok: Vec<u16>,
}

fn field(name: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        name,
        kind,
        required,
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    }
}

pub fn body_routes() -> Vec<BodyRoute> {
    let always = |path: &'static str| -> CasePath { Box::new(move |_, _| path.to_owned()) };
    let no_lane = || -> Box<dyn Fn(usize) -> Option<String>> { Box::new(|_| None) };
    vec![
        BodyRoute {
            route: "POST /api/users/signup",
            method: "POST",
            path: always("/api/users/signup"),
            lane: no_lane(),
            signed_in: false,
            fields: vec![
                field("email", Kind::Email, true),
                field("password", Kind::Password, true),
            ],
            valid: Box::new(|fx, n| {
                object(
                    json!({ "email": format!("{}.{n}@e2e.test", fx.tag), "password": "password" }),
                )
            }),
            ok: 201,
            changed_ok: vec![201],
        },
        BodyRoute {
            route: "POST /api/users/signin",
            method: "POST",
            path: always("/api/users/signin"),
            lane: no_lane(),
            signed_in: false,
            fields: vec![
                field("email", Kind::Email, true),
                field("password", Kind::Password, true),
            ],
            valid: Box::new(|fx, _| object(json!({ "email": fx.email, "password": fx.password }))),
            ok: 200,
            // Any other email or password is refused.
            changed_ok: vec![],
        },
        BodyRoute {
            route: "POST /api/tickets",
            method: "POST",
            path: always("/api/tickets"),
            lane: no_lane(),
            signed_in: true,
            fields: vec![
                field("title", Kind::Title, true),
                field("price", Kind::Price, true),
            ],
            valid: Box::new(|fx, n| {
                object(json!({ "title": format!("{} {n}", fx.tag), "price": 12.5 }))
            }),
            ok: 201,
            changed_ok: vec![201],
        },
        BodyRoute {
            route: "PUT /api/tickets/:id",
            method: "PUT",
            path: Box::new(|fx, n| format!("/api/tickets/{}", fx.tickets[n % EDIT_LANES])),
            lane: Box::new(|n| Some(format!("edit ticket {}", n % EDIT_LANES))),
            signed_in: true,
            fields: vec![
                field("title", Kind::Title, true),
                field("price", Kind::Price, true),
            ],
            valid: Box::new(|fx, n| {
                object(json!({ "title": format!("{} edit {n}", fx.tag), "price": "19.99" }))
            }),
            ok: 200,
            changed_ok: vec![200],
        },
        BodyRoute {
            route: "POST /api/orders",
            method: "POST",
            path: always("/api/orders"),
            lane: no_lane(),
            signed_in: true,
            fields: vec![
                field("ticketId", Kind::Id, true),
                field("ticketVersion", Kind::Version, false),
            ],
            // A ticket that does not exist: the body is read in full, and nothing is reserved.
            valid: Box::new(|_, _| object(json!({ "ticketId": UNKNOWN_ID, "ticketVersion": 0 }))),
            ok: 404,
            changed_ok: vec![404],
        },
        BodyRoute {
            route: "POST /api/payments",
            method: "POST",
            path: always("/api/payments"),
            lane: no_lane(),
            signed_in: true,
            fields: vec![
                field("orderId", Kind::Id, true),
                field("token", Kind::Token, true),
            ],
            // An order that does not exist: nothing is charged.
            valid: Box::new(|_, _| object(json!({ "orderId": UNKNOWN_ID, "token": "tok_visa" }))),
            ok: 404,
            changed_ok: vec![404],
        },
    ]
}

/// Unknown fields are ignored: in particular none of them reaches what is stored.
pub fn mass_assignment_check(route: &BodyRoute, fx: &Fixture) -> Expect {
    let user_id = fx.user_id.clone();
    match route.route {
        "POST /api/users/signup" => api_checked(&[201], |body| {
            if body["id"] == UNKNOWN_ID || body.get("isAdmin").is_some() {
                Err("the sent id or isAdmin was taken over".into())
            } else {
                Ok(())
            }
        }),
        "POST /api/tickets" | "PUT /api/tickets/:id" => api_checked(&[route.ok], move |ticket| {
            if ticket["id"] == UNKNOWN_ID
                || ticket["userId"] != user_id.as_str()
                || ticket.get("orderId").is_some()
                || ticket["version"] == 1_000_000
            {
                Err("a sent id, userId, orderId or version was taken over".into())
            } else {
                Ok(())
            }
        }),
        _ => api(&[route.ok]),
    }
}
