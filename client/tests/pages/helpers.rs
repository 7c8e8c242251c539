//! The client app on a random port, in front of a fake API: an axum router answering what each
//! test scripts, in the contract's JSON, and recording what the client sent it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use client::configuration::Settings;
use client::startup::Application;
use common::testkit::TestClient;
use serde_json::{Value, json};

/// The cookie a signed-in test browser sends; the fake API's `currentuser` knows it.
pub const BUYER_COOKIE: &str = "session=buyer-session";
pub const BUYER_ID: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";
pub const SELLER_ID: &str = "5e11e75e11e75e11e75e11e7";
pub const TICKET_ID: &str = "7777777777777777777777aa";
pub const ORDER_ID: &str = "0000000000000000000000cc";
/// The `Host` header the client is configured to send (the ingress routes on it).
pub const API_HOST: &str = "ticketing.test";

/// One canned API answer.
#[derive(Clone)]
pub struct Canned {
    status: StatusCode,
    body: Value,
    set_cookie: Option<String>,
}

/// A request the client made to the API.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub cookie: Option<String>,
    pub host: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Script {
    /// "METHOD /path" -> answers in order; the last one repeats.
    answers: HashMap<String, Vec<Canned>>,
    requests: Vec<Recorded>,
}

#[derive(Clone, Default)]
pub struct FakeApi {
    script: Arc<Mutex<Script>>,
}

impl FakeApi {
    /// Scripts `route` ("GET /api/tickets") to answer `status` with `body`.
    pub fn answer(&self, route: &str, status: u16, body: Value) -> &Self {
        self.push(route, status, body, None)
    }

    /// The same, with a `Set-Cookie` header.
    pub fn answer_with_cookie(
        &self,
        route: &str,
        status: u16,
        body: Value,
        set_cookie: &str,
    ) -> &Self {
        self.push(route, status, body, Some(set_cookie.to_owned()))
    }

    /// A contract error body answer.
    pub fn refuse(&self, route: &str, status: u16, errors: Value) -> &Self {
        self.answer(route, status, json!({ "errors": errors }))
    }

    fn push(&self, route: &str, status: u16, body: Value, set_cookie: Option<String>) -> &Self {
        let canned = Canned {
            status: StatusCode::from_u16(status).unwrap(),
            body,
            set_cookie,
        };
        self.script
            .lock()
            .unwrap()
            .answers
            .entry(route.to_owned())
            .or_default()
            .push(canned);
        self
    }

    /// The buyer is signed in: `currentuser` answers them for [`BUYER_COOKIE`].
    pub fn sign_in_buyer(&self) -> &Self {
        self.answer(
            "GET /api/users/currentuser",
            200,
            json!({ "currentUser": { "id": BUYER_ID, "email": "buyer@test.dev", "iat": 1, "exp": 2 } }),
        )
    }

    pub fn sign_in_seller(&self) -> &Self {
        self.answer(
            "GET /api/users/currentuser",
            200,
            json!({ "currentUser": { "id": SELLER_ID, "email": "seller@test.dev", "iat": 1, "exp": 2 } }),
        )
    }

    /// Every request the client made, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.script.lock().unwrap().requests.clone()
    }

    /// The requests to one route ("POST /api/orders").
    pub fn requests_to(&self, route: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|request| format!("{} {}", request.method, request.path) == route)
            .collect()
    }

    async fn handle(self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let header = |name: &str| {
            headers
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
        };
        let route = format!("{method} {}", uri.path());
        let mut script = self.script.lock().unwrap();
        script.requests.push(Recorded {
            method,
            path: uri.path().to_owned(),
            cookie: header("cookie"),
            host: header("host"),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        let Some(answers) = script.answers.get_mut(&route) else {
            let not_found = json!({ "errors": [{ "message": "Not Found" }] });
            return (StatusCode::NOT_FOUND, axum::Json(not_found)).into_response();
        };
        let canned = if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0].clone()
        };
        let mut response = (canned.status, axum::Json(canned.body)).into_response();
        if let Some(cookie) = canned.set_cookie {
            response
                .headers_mut()
                .insert("set-cookie", cookie.parse().unwrap());
        }
        response
    }
}

pub struct TestApp {
    pub web: TestClient,
    pub api: FakeApi,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_stripe(None).await
}

/// The client with a Stripe publishable key configured.
pub async fn spawn_app_with_stripe(stripe_publishable_key: Option<&str>) -> TestApp {
    let api = FakeApi::default();
    let fake = api.clone();
    let router = Router::new().fallback(move |method, uri, headers, body| {
        fake.clone().handle(method, uri, headers, body)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let settings = Settings {
        port: 0,
        metrics_port: Some(0),
        api_url,
        api_host: Some(API_HOST.to_owned()),
        stripe_publishable_key: stripe_publishable_key.map(str::to_owned),
    };
    spawn_client(settings, api).await
}

/// The client against an API address where nothing listens.
pub async fn spawn_app_without_api() -> TestApp {
    let unused = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_url = format!("http://{}", unused.local_addr().unwrap());
    drop(unused);
    let settings = Settings {
        port: 0,
        metrics_port: Some(0),
        api_url,
        api_host: None,
        stripe_publishable_key: None,
    };
    spawn_client(settings, FakeApi::default()).await
}

async fn spawn_client(settings: Settings, api: FakeApi) -> TestApp {
    let app = Application::build(settings).await.expect("client starts");
    let port = app.port();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        web: TestClient::new(format!("http://127.0.0.1:{port}")),
        api,
    }
}

impl TestApp {
    /// A page: status and HTML.
    pub async fn page(&self, path: &str, cookie: Option<&str>) -> (u16, String) {
        read(self.web.get(path, cookie).await).await
    }

    /// Submits an HTML form as a browser does.
    pub async fn submit(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> reqwest::Response {
        self.web
            .request(Method::POST, path, cookie)
            .form(fields)
            .send()
            .await
            .expect("form sent")
    }
}

pub async fn read(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.expect("body read"))
}

/// Where a redirect points.
pub fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), 303, "a redirect after a form");
    response.headers()["location"].to_str().unwrap().to_owned()
}

pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

/// The error shown next to a form field: the message in the field's own block, tied to the
/// input by `aria-describedby`.
pub fn field_error(html: &str, name: &str) -> Option<String> {
    let input = html.find(&format!("name=\"{name}\""))?;
    let block_start = html[..input].rfind("<div class=\"field")?;
    let block_end = input + html[input..].find("</div>")?;
    let block = &html[block_start..block_end];
    let marker = format!("<p class=\"field-error\" id=\"{name}-error\">");
    let start = block.find(&marker)? + marker.len();
    let message = &block[start..start + block[start..].find("</p>")?];
    assert!(
        block.contains(&format!("aria-describedby=\"{name}-error\"")),
        "the {name} input points at its error"
    );
    Some(message.to_owned())
}

/// The `value` of the input named `name`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let input = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..input].rfind('<')?;
    let tag = &html[tag_start..input + html[input..].find('>')?];
    let start = tag.find("value=\"")? + "value=\"".len();
    Some(tag[start..start + tag[start..].find('"')?].to_owned())
}

pub fn ticket(version: i64, price: f64) -> Value {
    json!({ "id": TICKET_ID, "title": "Concert", "price": price, "userId": SELLER_ID, "version": version })
}

/// An order of the buyer's, expiring `minutes` from now (negative: already past).
pub fn order(status: &str, minutes: i64) -> Value {
    json!({
        "id": ORDER_ID,
        "userId": BUYER_ID,
        "status": status,
        "expiresAt": (Utc::now() + Duration::minutes(minutes)).to_rfc3339(),
        "version": 0,
        "ticket": { "id": TICKET_ID, "title": "Concert", "price": 20, "version": 1 }
    })
}
