//! What every page shares: assets, headers, 404s, health.

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_stylesheet_and_script_are_served_from_the_binary_and_cached() {
    let app = spawn_app().await;
    let (_, html) = app.page("/auth/signin", None).await;
    let css = html
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let js = html
        .split("<script src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(css.starts_with("/static/app.css?v="), "{css}");
    assert!(js.starts_with("/static/app.js?v="), "{js}");
    for (path, content_type) in [(css, "text/css"), (js, "text/javascript")] {
        let response = app.web.get(path, None).await;
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type)
        );
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(!response.text().await.unwrap().is_empty());
    }
    assert!(
        !html.contains("https://"),
        "no external assets outside the payment page"
    );
}

#[tokio::test]
async fn pages_carry_a_content_security_policy() {
    let app = spawn_app().await;
    let response = app.web.get("/auth/signup", None).await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'self'"));
    assert!(csp.contains("script-src 'self' https://js.stripe.com"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn unknown_pages_and_malformed_ids_are_a_404_page() {
    let app = spawn_app().await;
    for path in [
        "/nope",
        "/tickets/not-an-id",
        "/orders/..%2F..%2Fapi%2Fusers%2Fcurrentuser",
    ] {
        let (status, html) = app.page(path, None).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("<h1>Page not found</h1>"), "{path}");
    }
    assert!(
        app.api.requests().is_empty(),
        "a malformed id never reaches the API"
    );
}

#[tokio::test]
async fn a_wrong_method_is_a_405_page() {
    let app = spawn_app().await;
    for (method, path) in [
        (reqwest::Method::DELETE, "/"),
        (reqwest::Method::PUT, "/auth/signin"),
        (reqwest::Method::POST, "/orders"),
        (reqwest::Method::PATCH, "/tickets/7777777777777777777777aa"),
    ] {
        let response = app
            .web
            .request(method.clone(), path, None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{method} {path}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("cannot be used that way"), "{method} {path}");
    }
    assert!(app.api.requests().is_empty(), "nothing reaches the API");
}

#[tokio::test]
async fn unknown_api_paths_get_the_api_error_shape() {
    let app = spawn_app().await;
    for path in ["/api/nothing", "/api/users"] {
        let response = app.web.get(path, None).await;
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{path}"
        );
        let (status, body) = common::testkit::status_and_json(response).await;
        assert_eq!(
            (status, body),
            (
                404,
                serde_json::json!({ "errors": [{ "message": "Not Found" }] })
            ),
            "{path}"
        );
    }
}

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    assert_eq!(app.web.get("/healthz", None).await.status(), 200);
    assert_eq!(app.web.get("/readyz", None).await.status(), 200);
}
