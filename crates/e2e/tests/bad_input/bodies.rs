//! JSON bodies: the cases of one body route, its fields (see `fields`) and the body as a whole
//! (unknown fields, malformed JSON, content types, sizes).

use serde_json::json;

use crate::body_routes::{BodyRoute, RouteCases, mass_assignment_check};
use crate::cases::Cases;
use crate::expect::api;
use crate::fields::field_cases;
use crate::fixture::UNKNOWN_ID;

/// The contract's body limit.
const LIMIT: usize = 64 * 1024;

/// The cases of one body route: its valid body (the baseline), then each field changed, then
/// the body as a whole.
pub fn body_cases(cases: &mut Cases, route: &BodyRoute) {
    let on = RouteCases::new(cases, route);
    on.add(
        cases,
        "the valid body (the baseline the other cases vary)".into(),
        &|n| on.json(n, on.valid(n)),
        api(&[route.ok]),
    );
    for field in &route.fields {
        field_cases(cases, &on, field);
    }
    unknown_field_cases(cases, &on);
    malformed_cases(cases, &on);
    content_type_cases(cases, &on);
    framing_and_size_cases(cases, &on);
}

/// Unknown fields are ignored, including ones that name stored fields or operators.
fn unknown_field_cases(cases: &mut Cases, on: &RouteCases) {
    on.add(
        cases,
        "unknown and mass-assignment fields".into(),
        &|n| {
            let mut body = on.valid(n);
            for (key, value) in [
                ("extra", json!("x")),
                ("isAdmin", json!(true)),
                ("id", json!(UNKNOWN_ID)),
                ("_id", json!({ "$oid": UNKNOWN_ID })),
                ("userId", json!(UNKNOWN_ID)),
                ("version", json!(1_000_000)),
                ("orderId", json!(UNKNOWN_ID)),
                ("$where", json!("sleep(2000)")),
                ("__proto__", json!({ "admin": true })),
                ("constructor", json!({ "prototype": { "admin": true } })),
                ("", json!("empty key")),
                ("🎫", json!("emoji key")),
                ("a\u{0}b", json!("NUL in a key")),
            ] {
                body.entry(key).or_insert(value);
            }
            on.json(n, body)
        },
        mass_assignment_check(on.route, on.fx),
    );
    on.add(
        cases,
        "3,000 unknown fields".into(),
        &|n| {
            let mut body = on.valid(n);
            for index in 0..3_000 {
                body.insert(format!("field{index}"), json!(index));
            }
            on.json(n, body)
        },
        api(&[on.route.ok]),
    );
}

/// Bodies that are not JSON, or not a JSON object.
fn malformed_cases(cases: &mut Cases, on: &RouteCases) {
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("an unclosed object", b"{".to_vec()),
        ("a missing value", b"{\"a\": }".to_vec()),
        ("a trailing comma", b"{\"a\": 1,}".to_vec()),
        ("single quotes", b"{'a': 1}".to_vec()),
        ("a bare word", b"nul".to_vec()),
        ("trailing garbage", b"{\"a\": 1}}".to_vec()),
        ("two objects", b"{} {}".to_vec()),
        ("a NUL byte", b"\0".to_vec()),
        ("a lone surrogate escape", b"{\"a\": \"\\ud800\"}".to_vec()),
        (
            "a raw control character in a string",
            b"{\"a\": \"x\x01y\"}".to_vec(),
        ),
        ("invalid UTF-8", b"{\"a\": \"\xff\xfe\xc0\"}".to_vec()),
        (
            "a UTF-16 body",
            "{\"a\":1}"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
        ),
        ("an array 20,000 deep", "[".repeat(20_000).into_bytes()),
        ("an object 5,000 deep", "{\"a\":".repeat(5_000).into_bytes()),
        (
            "a number with 10,000 digits",
            format!("{{\"a\": 1{}}}", "0".repeat(10_000)).into_bytes(),
        ),
        ("a comment", b"{/* hi */}".to_vec()),
        ("NaN", b"{\"a\": NaN}".to_vec()),
        ("an empty body", Vec::new()),
        ("only whitespace", b" \r\n\t ".to_vec()),
    ];
    for (what, raw) in malformed {
        on.add(
            cases,
            format!("malformed JSON: {what}"),
            &|n| on.request(n).body(Some("application/json"), raw.clone()),
            api(&[400]),
        );
    }
    for (what, raw) in [
        ("an array", json!([{ "email": "a@b.co" }])),
        ("a string", json!("{\"email\":\"a@b.co\"}")),
        ("a number", json!(42)),
        ("true", json!(true)),
        ("null", json!(null)),
    ] {
        on.add(
            cases,
            format!("JSON but not an object: {what}"),
            &|n| on.request(n).json(&raw),
            api(&[400]),
        );
    }
}

/// The valid body under other content types.
fn content_type_cases(cases: &mut Cases, on: &RouteCases) {
    for (what, content_type) in [
        ("text/plain", Some("text/plain")),
        ("no Content-Type", None),
        ("application/xml", Some("application/xml")),
        ("application/jsonp", Some("application/jsonp")),
        ("json without a type", Some("json")),
        ("a garbled type", Some(";;;/=\"")),
        (
            "multipart/form-data",
            Some("multipart/form-data; boundary=x"),
        ),
    ] {
        on.add(
            cases,
            format!("the valid body as {what}"),
            &|n| on.request(n).body(content_type, on.valid_text(n)),
            api(&[400]),
        );
    }
    on.add(
        cases,
        "a form instead of JSON".into(),
        &|n| {
            let form: Vec<String> = on
                .valid(n)
                .iter()
                .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or("1")))
                .collect();
            on.request(n)
                .body(Some("application/x-www-form-urlencoded"), form.join("&"))
        },
        api(&[400]),
    );
    for (what, content_type, statuses) in [
        (
            "with charset",
            "application/json; charset=utf-8",
            vec![on.route.ok],
        ),
        ("in capitals", "APPLICATION/JSON", vec![on.route.ok, 400]),
        (
            "as a +json type",
            "application/vnd.api+json",
            vec![on.route.ok, 400],
        ),
        (
            "with a latin-1 charset",
            "application/json; charset=iso-8859-1",
            vec![on.route.ok, 400],
        ),
    ] {
        on.add(
            cases,
            format!("the valid body, Content-Type {what}"),
            &|n| on.request(n).body(Some(content_type), on.valid_text(n)),
            api(&statuses),
        );
    }
    on.add(
        cases,
        "the valid body after a byte order mark".into(),
        &|n| {
            let mut raw = "\u{FEFF}".as_bytes().to_vec();
            raw.extend(on.valid_text(n).into_bytes());
            on.request(n).body(Some("application/json"), raw)
        },
        api(&[on.route.ok, 400]),
    );
    on.add(
        cases,
        "two Content-Type headers".into(),
        &|n| {
            on.request(n)
                .header("Content-Type", "text/plain")
                .body(Some("application/json"), on.valid_text(n))
        },
        api(&[on.route.ok, 400]),
    );
}

/// Chunked bodies, and bodies at, over and far over the limit.
fn framing_and_size_cases(cases: &mut Cases, on: &RouteCases) {
    on.add(
        cases,
        "the valid body, chunked".into(),
        &|n| {
            on.request(n)
                .body(Some("application/json"), on.valid_text(n))
                .chunked()
        },
        api(&[on.route.ok]),
    );
    on.add(
        cases,
        "a body of exactly 64 KiB (the limit)".into(),
        &|n| {
            let text = on.valid_text(n);
            let spaces = LIMIT - text.len();
            on.request(n)
                .body(Some("application/json"), padded(text, spaces))
        },
        api(&[on.route.ok]),
    );
    on.add(
        cases,
        "a body of 64 KiB + 1 byte".into(),
        &|n| {
            let text = on.valid_text(n);
            let spaces = LIMIT + 1 - text.len();
            on.request(n)
                .body(Some("application/json"), padded(text, spaces))
        },
        api(&[413]),
    );
    on.add(
        cases,
        "a 100 KiB body, chunked".into(),
        &|n| {
            let text = on.valid_text(n);
            on.request(n)
                .body(Some("application/json"), padded(text, 100 * 1024))
                .chunked()
        },
        api(&[413]),
    );
    on.add(
        cases,
        "a 2 MiB body (over the gateway's own limit)".into(),
        &|n| {
            on.request(n)
                .body(Some("application/json"), vec![b'a'; 2 * 1024 * 1024])
        },
        api(&[413]),
    );
    on.add(
        cases,
        "a 2 MiB body without Content-Type".into(),
        &|n| on.request(n).body(None, vec![b'a'; 2 * 1024 * 1024]),
        api(&[413, 400]),
    );
}

/// `text` followed by `spaces` spaces (JSON allows trailing whitespace).
fn padded(text: String, spaces: usize) -> String {
    format!("{text}{}", " ".repeat(spaces))
}
