//! The routes that take a JSON body: their fields, a valid body, and what it gets; and how
//! the cases of one such route are made.

use serde_json::{Map, Value, json};

use crate::cases::Cases;
use crate::expect::{Expect, api, api_checked};
use crate::fixture::{EDIT_LANES, Fixture, UNKNOWN_ID};
use crate::raw_http::Req;

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

/// Adds the cases of one body route: case `n` goes to the route's path (and lane) for `n`, with
/// the sweep's cookie when the route wants a signed-in caller.
pub struct RouteCases<'r, 'f> {
    pub route: &'r BodyRoute,
    pub fx: &'f Fixture,
    cookie: Option<&'f [u8]>,
}

impl<'r, 'f> RouteCases<'r, 'f> {
    pub fn new(cases: &Cases<'f>, route: &'r BodyRoute) -> Self {
        RouteCases {
            route,
            fx: cases.fx,
            cookie: if route.signed_in {
                cases.cookie()
            } else {
                None
            },
        }
    }

    pub fn add(
        &self,
        cases: &mut Cases,
        name: String,
        make: &dyn Fn(usize) -> Req,
        expect: Expect,
    ) {
        let n = cases.next_serial();
        let req = make(n).cookie(self.cookie);
        let lane = (self.route.lane)(n);
        cases.add_in_lane(self.route.route, name, req, expect, lane);
    }

    /// The request of case `n`, without a body yet.
    pub fn request(&self, n: usize) -> Req {
        Req::new(self.route.method, (self.route.path)(self.fx, n))
    }

    /// The valid body of case `n`.
    pub fn valid(&self, n: usize) -> Map<String, Value> {
        (self.route.valid)(self.fx, n)
    }

    pub fn valid_text(&self, n: usize) -> String {
        Value::Object(self.valid(n)).to_string()
    }

    /// Case `n` with `body` as JSON.
    pub fn json(&self, n: usize, body: Map<String, Value>) -> Req {
        self.request(n).json(&Value::Object(body))
    }

    /// Case `n` with the valid body, `field` set to `value`.
    pub fn json_with(&self, n: usize, field: &str, value: Value) -> Req {
        let mut body = self.valid(n);
        body.insert(field.into(), value);
        self.json(n, body)
    }

    /// Case `n` with the valid body, `field` left out.
    pub fn json_without(&self, n: usize, field: &str) -> Req {
        let mut body = self.valid(n);
        body.remove(field);
        self.json(n, body)
    }

    /// What a valid-looking but different value of a field gets: a 400, or what the route allows.
    pub fn changed(&self) -> Expect {
        let mut statuses = vec![400];
        statuses.extend(&self.route.changed_ok);
        api(&statuses)
    }
}
