//! The web client's pages: malformed ids, odd forms, unknown pages and wrong methods, and header
//! bytes HTTP forbids.

use crate::cases::Cases;
use crate::expect::Expect;
use crate::fixture::UNKNOWN_ID;
use crate::ids::malformed_ids;
use crate::raw_http::Req;

pub fn page_cases(cases: &mut Cases) {
    let fx = cases.fx;
    let cookie = cases.cookie();
    let ticket = fx.tickets[0].clone();
    cases.add("GET /", "no cookie", Req::new("GET", "/"), Expect::Page);
    cases.add(
        "GET /",
        "a query of script",
        Req::new("GET", "/?q=%3Cscript%3Ealert(1)%3C/script%3E&$where=1"),
        Expect::Page,
    );
    cases.add(
        "GET /tickets/:id",
        "a real ticket",
        Req::new("GET", format!("/tickets/{ticket}")),
        Expect::Page,
    );
    for (what, id) in malformed_ids().into_iter().chain([
        ("unknown", UNKNOWN_ID.to_owned()),
        ("..", "..".into()),
        ("%2e%2e", "%2e%2e".into()),
    ]) {
        let name = format!("id {what}");
        cases.add(
            "GET /tickets/:id",
            name.clone(),
            Req::new("GET", format!("/tickets/{id}")),
            Expect::Page,
        );
        cases.add(
            "GET /tickets/:id/edit",
            name.clone(),
            Req::new("GET", format!("/tickets/{id}/edit")).cookie(cookie),
            Expect::Page,
        );
        cases.add(
            "GET /orders/:id",
            name.clone(),
            Req::new("GET", format!("/orders/{id}")).cookie(cookie),
            Expect::Page,
        );
        cases.add(
            "POST /tickets/:id/purchase",
            name.clone(),
            Req::new("POST", format!("/tickets/{id}/purchase"))
                .cookie(cookie)
                .body(Some("application/x-www-form-urlencoded"), "ticketVersion=0"),
            Expect::Page,
        );
        cases.add(
            "POST /orders/:id/pay",
            name,
            Req::new("POST", format!("/orders/{id}/pay"))
                .cookie(cookie)
                .body(Some("application/x-www-form-urlencoded"), "token=tok_visa"),
            Expect::Page,
        );
    }
    let form = |path: &str, content_type: Option<&str>, body: Vec<u8>| {
        Req::new("POST", path).body(content_type, body)
    };
    let urlencoded = Some("application/x-www-form-urlencoded");
    let email = fx.email.replace('@', "%40");
    let auth_forms: Vec<(String, Option<&str>, Vec<u8>)> = vec![
        (
            "the right credentials".into(),
            urlencoded,
            format!("email={email}&password={}", fx.password).into_bytes(),
        ),
        (
            "a wrong password".into(),
            urlencoded,
            format!("email={email}&password=wrong").into_bytes(),
        ),
        ("no fields".into(), urlencoded, Vec::new()),
        (
            "operator fields".into(),
            urlencoded,
            b"email[$ne]=null&password[$ne]=null".to_vec(),
        ),
        (
            "an operator as the email".into(),
            urlencoded,
            b"email=%7B%22%24ne%22%3Anull%7D&password=x".to_vec(),
        ),
        (
            "a NUL and control characters".into(),
            urlencoded,
            b"email=a%00b%40c.d&password=%01%07%1b".to_vec(),
        ),
        (
            "invalid UTF-8".into(),
            urlencoded,
            b"email=%FF%FE&password=%C0".to_vec(),
        ),
        (
            "emoji and RTL".into(),
            urlencoded,
            "email=🎫%40שלום.co&password=🎫🎫🎫🎫".as_bytes().to_vec(),
        ),
        (
            "a field given twice".into(),
            urlencoded,
            b"email=a%40b.co&email=c%40d.co&password=xxxx".to_vec(),
        ),
        (
            "broken percent escapes".into(),
            urlencoded,
            b"email=%%%&password=%zz%".to_vec(),
        ),
        (
            "JSON".into(),
            Some("application/json"),
            format!("{{\"email\":\"{}\",\"password\":\"x\"}}", fx.email).into_bytes(),
        ),
        ("text/plain".into(), Some("text/plain"), b"email=a".to_vec()),
        ("no Content-Type".into(), None, b"email=a".to_vec()),
        (
            "multipart".into(),
            Some("multipart/form-data; boundary=x"),
            b"--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na\r\n--x--\r\n".to_vec(),
        ),
        (
            "a 60 KB email".into(),
            urlencoded,
            format!("email={}&password=xxxx", "a".repeat(60_000)).into_bytes(),
        ),
        (
            "a 100 KiB body".into(),
            urlencoded,
            format!("email={}&password=xxxx", "a".repeat(100 * 1024)).into_bytes(),
        ),
        (
            "a 2 MiB body".into(),
            urlencoded,
            format!("email={}", "a".repeat(2 * 1024 * 1024)).into_bytes(),
        ),
    ];
    for path in ["/auth/signin", "/auth/signup"] {
        for (what, content_type, body) in &auth_forms {
            if path == "/auth/signup" && what == "the right credentials" {
                continue; // that account exists: covered by the wrong-password case
            }
            cases.add(
                &format!("POST {path}"),
                what.clone(),
                form(path, *content_type, body.clone()),
                Expect::Page,
            );
        }
    }
    for (what, body) in [
        ("a price that is a word", "title=x&price=abc".to_owned()),
        ("a price of 1e999", "title=x&price=1e999".to_owned()),
        (
            "a 60 KB title",
            format!("title={}&price=1", "a".repeat(60_000)),
        ),
        ("operator fields", "title[$ne]=1&price[$gt]=0".to_owned()),
        ("a NUL title", "title=%00&price=1".to_owned()),
        (
            "an emoji title",
            format!("title=%F0%9F%8E%AB%20{}&price=1", fx.tag),
        ),
    ] {
        cases.add(
            "POST /tickets/new",
            what,
            form("/tickets/new", urlencoded, body.into_bytes()).cookie(cookie),
            Expect::Page,
        );
    }
    for (what, path) in [
        ("an unknown page", "/nope".to_owned()),
        ("a deep unknown page", format!("/a/{}", "b/".repeat(500))),
        (
            "a static file climbing out",
            "/static/%2e%2e/%2e%2e/Cargo.toml".to_owned(),
        ),
        (
            "a static file, encoded slashes",
            "/static/..%2F..%2FCargo.toml".to_owned(),
        ),
        ("%00", "/%00".to_owned()),
        ("invalid UTF-8", "/%FF%FE".to_owned()),
        ("/api without a service", "/api/".to_owned()),
        ("/api/ticketsfoo", "/api/ticketsfoo".to_owned()),
    ] {
        cases.add("GET (pages)", what, Req::new("GET", path), Expect::Either);
    }
    for (method, path) in [
        ("DELETE", "/".to_owned()),
        ("PUT", "/auth/signin".to_owned()),
        ("POST", "/orders".to_owned()),
        ("PATCH", format!("/tickets/{ticket}")),
        ("BREW", "/tickets/new".to_owned()),
    ] {
        cases.add(
            &format!("{method} {path}"),
            "a method the page does not take",
            Req::new(method, path).cookie(cookie),
            Expect::Page,
        );
    }
    // Header bytes HTTP forbids: refused by hyper itself (see Expect::NotHttp).
    for (route, req) in [
        (
            "POST /api/tickets",
            Req::new("POST", "/api/tickets")
                .cookie(cookie)
                .body(Some("application/json\x7f"), "{}"),
        ),
        (
            "GET /api/users/currentuser",
            Req::new("GET", "/api/users/currentuser")
                .header("Cookie", b"session=a\x01b\x7f".to_vec()),
        ),
        (
            "GET /",
            Req::new("GET", "/").header("Cookie", b"session=a\x7f".to_vec()),
        ),
    ] {
        cases.add(
            route,
            "a control character in a header value",
            req,
            Expect::NotHttp,
        );
    }
}
