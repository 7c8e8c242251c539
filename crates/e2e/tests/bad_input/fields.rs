//! Every field of every body route: missing, null, mistyped, operators, injection-shaped text,
//! unicode, oversized, deeply nested, out of range, given twice.

use serde_json::{Value, json};

use crate::body_routes::{Field, Kind, RouteCases};
use crate::cases::Cases;
use crate::expect::{api, invalid};
use crate::fixture::UNKNOWN_ID;

/// Values of the wrong type (or plainly invalid) for a field of this kind: always a 400 naming it.
fn wrong_values(kind: Kind) -> Vec<(&'static str, Value)> {
    let structural = vec![
        ("true", json!(true)),
        ("false", json!(false)),
        ("an empty array", json!([])),
        ("an array", json!(["a@b.co", 1])),
        ("an empty object", json!({})),
        ("an object", json!({ "value": "x" })),
        ("a nested array", json!([[[["deep"]]]])),
    ];
    let numbers = vec![
        ("a number", json!(12345)),
        ("a negative number", json!(-1)),
        ("a fraction", json!(1.5)),
        ("a huge number", json!(1e308)),
        ("a big integer", json!(u64::MAX)),
        ("zero", json!(0)),
    ];
    match kind {
        Kind::Price => structural
            .into_iter()
            .chain([
                ("a word", json!("abc")),
                ("an empty string", json!("")),
                ("a comma decimal", json!("12,50")),
                ("a currency sign", json!("$12")),
                ("NaN", json!("NaN")),
                ("Infinity", json!("Infinity")),
                ("a negative string", json!("-5")),
                ("zero", json!(0)),
                ("a negative number", json!(-1)),
                ("three decimals", json!(12.345)),
                ("under the processor's minimum", json!(0.49)),
                ("the processor's limit", json!(1_000_000)),
                ("over the maximum", json!(1_000_000.01)),
                ("a huge number", json!(1e308)),
                ("a big integer", json!(u64::MAX)),
            ])
            .collect(),
        Kind::Version => structural
            .into_iter()
            .chain([
                ("a word", json!("abc")),
                ("a fraction", json!(1.5)),
                ("a negative number", json!(-1)),
                ("a huge number", json!(1e308)),
                ("a big integer", json!(u64::MAX)),
            ])
            .collect(),
        _ => structural.into_iter().chain(numbers).collect(),
    }
}

/// MongoDB query operators where a value belongs: a wrong type, so a 400 naming the field.
fn injection_objects() -> Vec<(&'static str, Value)> {
    vec![
        ("{$ne: null}", json!({ "$ne": null })),
        ("{$gt: \"\"}", json!({ "$gt": "" })),
        ("{$where}", json!({ "$where": "sleep(2000) || true" })),
        ("{$regex: .*}", json!({ "$regex": ".*" })),
        ("{$in: [...]}", json!({ "$in": ["a@b.co", UNKNOWN_ID] })),
        ("{$exists: true}", json!({ "$exists": true })),
        ("{$oid}", json!({ "$oid": UNKNOWN_ID })),
    ]
}

/// Injection-shaped strings: plain (if odd) text, so a 400 or whatever such text gets.
fn injection_strings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("\"$where\"", "$where"),
        ("\"$ne\"", "$ne"),
        ("a regex", ".*"),
        ("a JS expression", "'; return true; var x='"),
        ("an operator as text", "{\"$ne\": null}"),
        ("SQL", "admin'-- OR 1=1; DROP TABLE users"),
        ("a path", "../../etc/passwd"),
    ]
}

fn unicode_strings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("emoji", "🎫🎟️👩‍👩‍👧‍👦"),
        ("RTL text", "שלום عالم"),
        ("an RTL override", "\u{202E}gnp.exe"),
        (
            "combining marks",
            "Z\u{351}\u{36B}\u{343}a\u{302}\u{352}l\u{310}g\u{30C}o",
        ),
        ("a NUL", "a\u{0}b\u{0}"),
        ("control characters", "\u{1}\u{7}\u{8}\u{1b}[31m\u{7f}x"),
        ("CR LF", "ab\r\nSet-Cookie: x=y"),
        ("zero-width characters", "\u{FEFF}a\u{200B}\u{200D}b"),
        ("noncharacters", "\u{FFFF}x\u{10FFFF}"),
        ("CJK", "演唱会门票"),
        ("only odd whitespace", " \t\u{A0}\u{3000}\u{2028} "),
        ("HTML", "<script>alert(1)</script>"),
    ]
}

/// A unicode string in a field: inside an otherwise valid email, as is elsewhere.
fn unicode_value(kind: Kind, text: &str, tag: &str, n: usize) -> Value {
    match kind {
        Kind::Email => json!(format!("{tag}.{n}{text}@e2e.test")),
        _ => json!(text),
    }
}

/// The cases of one field of a body route: the valid body with that field changed.
pub fn field_cases(cases: &mut Cases, on: &RouteCases, field: &Field) {
    let name = field.name;
    let missing = if field.required {
        invalid(name)
    } else {
        api(&[on.route.ok])
    };
    on.add(
        cases,
        format!("{name} missing"),
        &|n| on.json_without(n, name),
        missing.clone(),
    );
    on.add(
        cases,
        format!("{name} null"),
        &|n| on.json_with(n, name, Value::Null),
        missing,
    );
    let set = |n: usize, value: &Value| on.json_with(n, name, value.clone());
    for (what, value) in wrong_values(field.kind) {
        on.add(
            cases,
            format!("{name} = {what}"),
            &|n| set(n, &value),
            invalid(name),
        );
    }
    for (what, value) in injection_objects() {
        on.add(
            cases,
            format!("{name} = {what}"),
            &|n| set(n, &value),
            invalid(name),
        );
    }
    for (what, text) in injection_strings() {
        on.add(
            cases,
            format!("{name} = {what}"),
            &|n| set(n, &json!(text)),
            on.changed(),
        );
    }
    for (what, text) in unicode_strings() {
        on.add(
            cases,
            format!("{name} with {what}"),
            &|n| set(n, &unicode_value(field.kind, text, &on.fx.tag, n)),
            on.changed(),
        );
    }
    on.add(
        cases,
        format!("{name} = 60 KB of letters (a body under the limit)"),
        &|n| set(n, &json!("a".repeat(60_000))),
        on.changed(),
    );
    on.add(
        cases,
        format!("{name} = 15,000 emoji (60 KB)"),
        &|n| set(n, &json!("🎫".repeat(15_000))),
        on.changed(),
    );
    on.add(
        cases,
        format!("{name} = a 100 KB string (a body over the limit)"),
        &|n| set(n, &json!("a".repeat(100 * 1024))),
        api(&[413]),
    );
    on.add(
        cases,
        format!("{name} nested 5,000 arrays deep"),
        &|n| {
            let mut body = on.valid(n);
            body.remove(name);
            let rest = Value::Object(body).to_string();
            let raw = format!(
                "{{\"{name}\": {}{}, {}",
                "[".repeat(5_000),
                "]".repeat(5_000),
                &rest[1..]
            );
            let raw = raw.replace(", }", "}");
            on.request(n).body(Some("application/json"), raw)
        },
        api(&[400]),
    );
    on.add(
        cases,
        format!("{name} = 1e999 (out of range)"),
        &|n| {
            let mut body = on.valid(n);
            body.insert(name.into(), json!("@@NUMBER@@"));
            let raw = Value::Object(body)
                .to_string()
                .replace("\"@@NUMBER@@\"", "1e999");
            on.request(n).body(Some("application/json"), raw)
        },
        api(&[400]),
    );
    on.add(
        cases,
        format!("{name} given twice, an operator last"),
        &|n| {
            let raw = on.valid_text(n);
            let raw = format!("{}, \"{name}\": {{\"$ne\": null}}}}", &raw[..raw.len() - 1]);
            on.request(n).body(Some("application/json"), raw)
        },
        invalid(name),
    );
}
