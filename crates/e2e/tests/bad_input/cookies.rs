//! Bad, broken and forged session cookies: each leaves the caller anonymous.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::cases::Cases;
use crate::expect::{Expect, anonymous, api, api_checked};
use crate::fixture::{Fixture, UNKNOWN_ID};
use crate::raw_http::Req;

fn session_cookie(payload: &[u8]) -> Vec<u8> {
    format!("session={}", BASE64.encode(payload)).into_bytes()
}

fn jwt_cookie(token: &str) -> Vec<u8> {
    session_cookie(json!({ "jwt": token }).to_string().as_bytes())
}

fn sign(algorithm: Algorithm, key: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("a token signs")
}

/// Bad, broken and forged session cookies; each must leave the caller anonymous.
fn bad_cookies(fx: &Fixture) -> Vec<(String, Option<Vec<u8>>)> {
    let now = chrono::Utc::now().timestamp();
    let claims = |id: Value, iat: i64, exp: i64| json!({ "id": id, "email": fx.email, "iat": iat, "exp": exp });
    let valid_claims = claims(json!(fx.user_id), now, now + 3600);
    let none = format!(
        "{}.{}.",
        BASE64URL.encode(br#"{"alg":"none","typ":"JWT"}"#),
        BASE64URL.encode(valid_claims.to_string())
    );
    // The real token of the sweep's user, its payload swapped for another user's.
    let real_token = {
        let value = fx.cookie.trim_start_matches("session=");
        let payload: Value = serde_json::from_slice(&BASE64.decode(value).expect("base64 cookie"))
            .expect("a JSON cookie");
        payload["jwt"].as_str().expect("a jwt").to_owned()
    };
    let mut parts = real_token.split('.');
    let (header, _, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let tampered = format!(
        "{header}.{}.{signature}",
        BASE64URL.encode(claims(json!(UNKNOWN_ID), now, now + 3600).to_string())
    );
    let mut cookies: Vec<(String, Option<Vec<u8>>)> = vec![
        ("no cookie".into(), None),
        ("an empty session".into(), Some(b"session=".to_vec())),
        (
            "garbage, not base64".into(),
            Some(b"session=!!!not*base64%%%".to_vec()),
        ),
        (
            "base64 of text".into(),
            Some(session_cookie(b"this is not json")),
        ),
        (
            "base64 of binary".into(),
            Some(session_cookie(&[0, 159, 146, 150, 255])),
        ),
        (
            "base64 of JSON without jwt".into(),
            Some(session_cookie(br#"{"user":"admin","id":"x"}"#)),
        ),
        (
            "a jwt that is an operator".into(),
            Some(session_cookie(br#"{"jwt":{"$ne":null}}"#)),
        ),
        (
            "a jwt that is not a token".into(),
            Some(jwt_cookie("not.a.token")),
        ),
        ("a token with alg none".into(), Some(jwt_cookie(&none))),
        (
            "a token signed with another key".into(),
            Some(jwt_cookie(&sign(
                Algorithm::HS256,
                "another-key",
                &valid_claims,
            ))),
        ),
        (
            "a real token with another user's payload".into(),
            Some(jwt_cookie(&tampered)),
        ),
        (
            "a quoted value".into(),
            Some(format!("session=\"{}\"", BASE64.encode(b"{\"jwt\":1}")).into_bytes()),
        ),
        (
            "non-ASCII bytes".into(),
            Some(b"session=\xc3\xa9\xff\xfe".to_vec()),
        ),
        (
            "a 10 KB cookie".into(),
            Some(format!("session={}", "A".repeat(10 * 1024)).into_bytes()),
        ),
        (
            "60 cookies".into(),
            Some(
                (0..60)
                    .map(|i| format!("c{i}=v{i}"))
                    .collect::<Vec<_>>()
                    .join("; ")
                    .into_bytes(),
            ),
        ),
    ];
    if let Some(key) = &fx.jwt_key {
        let real = |claims: &Value| jwt_cookie(&sign(Algorithm::HS256, key, claims));
        cookies.extend([
            (
                "an expired token".to_owned(),
                Some(real(&claims(json!(fx.user_id), now - 7200, now - 3600))),
            ),
            (
                "a token issued in the future, already expired".to_owned(),
                Some(real(&claims(json!(fx.user_id), now + 3600, now - 1))),
            ),
            (
                "a token without exp".to_owned(),
                Some(real(
                    &json!({ "id": fx.user_id, "email": fx.email, "iat": now }),
                )),
            ),
            (
                "a token whose id is not an ObjectId".to_owned(),
                Some(real(&claims(json!("123"), now, now + 3600))),
            ),
            (
                "a token whose id is an operator".to_owned(),
                Some(real(&claims(json!({ "$ne": null }), now, now + 3600))),
            ),
            (
                "a token whose exp is a string".to_owned(),
                Some(real(
                    &json!({ "id": fx.user_id, "email": fx.email, "iat": now, "exp": "never" }),
                )),
            ),
            (
                "a token signed HS512 with the right key".to_owned(),
                Some(jwt_cookie(&sign(Algorithm::HS512, key, &valid_claims))),
            ),
        ]);
    }
    cookies
}

pub fn cookie_cases(cases: &mut Cases) {
    let fx = cases.fx;
    let ticket = &fx.tickets[0];
    let sell = json!({ "title": "Forged", "price": 10 });
    let order = json!({ "ticketId": ticket });
    let pay = json!({ "orderId": UNKNOWN_ID, "token": "tok_visa" });
    for (what, cookie) in bad_cookies(fx) {
        let cookie = cookie.as_deref();
        let name = format!("cookie: {what}");
        let requests: Vec<(&str, Req, Expect)> = vec![
            (
                "GET /api/users/currentuser",
                Req::new("GET", "/api/users/currentuser"),
                anonymous(),
            ),
            (
                "GET /api/orders",
                Req::new("GET", "/api/orders"),
                api(&[401]),
            ),
            (
                "POST /api/tickets",
                Req::new("POST", "/api/tickets").json(&sell),
                api(&[401]),
            ),
            (
                "PUT /api/tickets/:id",
                Req::new("PUT", format!("/api/tickets/{ticket}")).json(&sell),
                api(&[401]),
            ),
            (
                "POST /api/orders",
                Req::new("POST", "/api/orders").json(&order),
                api(&[401]),
            ),
            (
                "GET /api/orders/:id",
                Req::new("GET", format!("/api/orders/{UNKNOWN_ID}")),
                api(&[401]),
            ),
            (
                "DELETE /api/orders/:id",
                Req::new("DELETE", format!("/api/orders/{UNKNOWN_ID}")),
                api(&[401]),
            ),
            (
                "POST /api/payments",
                Req::new("POST", "/api/payments").json(&pay),
                api(&[401]),
            ),
            (
                "POST /api/users/signout",
                Req::new("POST", "/api/users/signout"),
                api(&[200]),
            ),
            (
                "GET /api/tickets",
                Req::new("GET", "/api/tickets"),
                api(&[200]),
            ),
            ("GET /", Req::new("GET", "/"), Expect::Page),
            ("GET /orders", Req::new("GET", "/orders"), Expect::Page),
            (
                "GET /tickets/new",
                Req::new("GET", "/tickets/new"),
                Expect::Page,
            ),
        ];
        for (route, req, expect) in requests {
            cases.add(route, name.clone(), req.cookie(cookie), expect);
        }
    }
    // The sweep's own cookie does work: the forged ones fail for what they are.
    let user_id = fx.user_id.clone();
    cases.add(
        "GET /api/users/currentuser",
        "cookie: the real one (the baseline)",
        Req::new("GET", "/api/users/currentuser").cookie(cases.cookie()),
        api_checked(&[200], move |body| {
            if body["currentUser"]["id"] == user_id.as_str() {
                Ok(())
            } else {
                Err("the real cookie is not recognised".into())
            }
        }),
    );
}
