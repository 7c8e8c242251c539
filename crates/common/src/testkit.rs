//! Helpers for integration tests: the shared test servers, fresh databases, session cookies and
//! a small HTTP client. Tests run against real servers started by `scripts/infra.sh` (the test
//! command exports their URLs); nothing here stands in for them.

use bson::oid::ObjectId;
use reqwest::{Method, Response};
use serde_json::Value;

use crate::session::Sessions;

/// The key tests sign sessions with.
pub const TEST_JWT_KEY: &str = "test-jwt-key";

fn server_url(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: integration tests need the real test servers. \
             Run them through `scripts/test.sh`, or `source target/infra/env.sh` after \
             `scripts/infra.sh start`."
        )
    })
}

/// A name no other test uses, for databases, stream prefixes and queues.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", ObjectId::new().to_hex())
}

/// A fresh database named after `prefix` on the test server of the service the prefix starts
/// with (`tickets_crash` → `TICKETS_MONGO_URL`): one server per owning service, as in
/// Kubernetes. `MONGO_URL` serves a prefix that names no service with a server of its own.
pub fn fresh_mongo_url(prefix: &str) -> String {
    let service = prefix.split('_').next().unwrap_or(prefix).to_uppercase();
    let own = format!("{service}_MONGO_URL");
    let url = std::env::var(&own).unwrap_or_else(|_| server_url("MONGO_URL"));
    with_database(&url, &unique_name(prefix))
}

/// Replaces (or adds) the database path of a MongoDB URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a MongoDB URL has a scheme");
    let (hosts, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let hosts = hosts.split('/').next().unwrap_or(hosts);
    match query {
        Some(query) => format!("{scheme}://{hosts}/{db}?{query}"),
        None => format!("{scheme}://{hosts}/{db}"),
    }
}

pub fn nats_url() -> String {
    server_url("NATS_URL")
}

pub fn redis_url() -> String {
    server_url("REDIS_URL")
}

pub fn stripe_api_base() -> String {
    server_url("STRIPE_API_BASE")
}

/// A `Cookie` header value for a signed-in user, like the original's `global.signin()`.
pub fn cookie_for(user_id: ObjectId, email: &str) -> String {
    let sessions = Sessions::new(TEST_JWT_KEY, false);
    let token = sessions.issue(user_id, email).expect("signing works");
    cookie_pair(sessions.session_cookie(&token).to_str().expect("ascii"))
}

/// A `Cookie` header value for a new random user; returns the user's id too.
pub fn signed_in() -> (ObjectId, String) {
    let id = ObjectId::new();
    (id, cookie_for(id, &format!("{}@test.dev", id.to_hex())))
}

/// The `name=value` part of a `Set-Cookie` header.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

/// An HTTP client for one running app.
#[derive(Clone)]
pub struct TestClient {
    pub base: String,
    http: reqwest::Client,
}

impl TestClient {
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client builds"),
        }
    }

    /// A client that sends `headers` with every request (a browser's `traceparent`, say).
    pub fn with_headers(base: impl Into<String>, headers: reqwest::header::HeaderMap) -> Self {
        Self {
            base: base.into(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .expect("client builds"),
        }
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match cookie {
            Some(cookie) => builder.header(reqwest::header::COOKIE, cookie),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        self.request(Method::GET, path, cookie)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        cookie: Option<&str>,
    ) -> Response {
        self.request(method, path, cookie)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str, body: &Value, cookie: Option<&str>) -> Response {
        self.send_json(Method::POST, path, body, cookie).await
    }

    pub async fn put(&self, path: &str, body: &Value, cookie: Option<&str>) -> Response {
        self.send_json(Method::PUT, path, body, cookie).await
    }

    pub async fn delete(&self, path: &str, cookie: Option<&str>) -> Response {
        self.request(Method::DELETE, path, cookie)
            .send()
            .await
            .expect("request sent")
    }
}

/// Status and JSON body of a response.
pub async fn status_and_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body read");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// The messages of a contract error body, in order.
pub fn error_messages(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| error["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `(field, message)` pairs of a contract error body.
pub fn field_errors(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| {
                    Some((
                        error["field"].as_str()?.to_owned(),
                        error["message"].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How many times longer than on the machine the suite was written on the tests wait for what
/// happens in the background: `TEST_TIME_SCALE` (default 1), so a slower machine is a setting.
pub fn time_scale() -> f64 {
    std::env::var("TEST_TIME_SCALE")
        .ok()
        .and_then(|scale| scale.parse::<f64>().ok())
        .filter(|scale| scale.is_finite() && *scale > 0.0)
        .unwrap_or(1.0)
}

/// `duration` stretched by [`time_scale`].
pub fn scaled(duration: std::time::Duration) -> std::time::Duration {
    duration.mul_f64(time_scale())
}

/// How long a test waits for something that happens in the background (an event handled, a
/// replica updated, an expiry fired): 10 s, [`scaled`].
pub fn patience() -> std::time::Duration {
    scaled(std::time::Duration::from_secs(10))
}

/// Polls `probe` every 20 ms until it returns `Some`, or panics after [`patience`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let bound = patience();
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {bound:?} waiting for {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A connection to the shared NATS server in a namespace of its own, streams created.
pub async fn fresh_bus() -> crate::events::EventBus {
    use crate::events::{EventBus, Namespace};
    let bus = EventBus::connect(&nats_url(), Namespace::new(unique_name("t")))
        .await
        .expect("NATS reachable");
    bus.ensure_streams().await.expect("streams created");
    bus
}

/// Settings that put a service on the shared NATS server in `bus`'s namespace.
pub fn event_settings(bus: &crate::events::EventBus) -> crate::settings::EventSettings {
    crate::settings::EventSettings {
        nats_url: nats_url(),
        namespace: bus.namespace().prefix().to_owned(),
        stream_replicas: 1,
    }
}

/// HTTP settings for a service under test: any free port, the test key, plain-http cookies.
pub fn http_settings() -> crate::settings::HttpSettings {
    crate::settings::HttpSettings {
        port: 0,
        metrics_port: Some(0),
        jwt_key: TEST_JWT_KEY.into(),
        cookie_secure: false,
        rate_limits: Default::default(),
    }
}

/// The settings of `service` under test: on `bus`'s namespace, a fresh database of its own on
/// the service's MongoDB server.
pub fn service_settings(
    service: &str,
    bus: &crate::events::EventBus,
) -> crate::settings::ServiceSettings {
    crate::settings::ServiceSettings {
        http: http_settings(),
        mongo_url: fresh_mongo_url(service),
        events: event_settings(bus),
    }
}

/// [`service_settings`], the outbox relay running.
pub fn event_service_settings(
    service: &str,
    bus: &crate::events::EventBus,
) -> crate::settings::EventServiceSettings {
    crate::settings::EventServiceSettings {
        base: service_settings(service, bus),
        relay_events: true,
    }
}

/// Runs a built service in the background; returns a client for it.
pub fn serve(server: crate::service::Server) -> TestClient {
    let port = server.port();
    tokio::spawn(server.run_until_stopped(std::future::pending()));
    TestClient::new(format!("http://127.0.0.1:{port}"))
}

/// Runs a built service in the background; returns a client for its API and one for its
/// `/metrics` (the service must have a metrics port, as [`http_settings`] gives it).
pub fn serve_with_metrics(server: crate::service::Server) -> (TestClient, MetricsClient) {
    let metrics = MetricsClient::of(&server);
    (serve(server), metrics)
}

/// Reads a service's `GET /metrics`.
///
/// The recorder is the process's, so a test that runs several services sees their metrics
/// together: tests compare a value before and after what they do.
#[derive(Clone)]
pub struct MetricsClient {
    url: String,
    http: reqwest::Client,
}

impl MetricsClient {
    pub fn of(server: &crate::service::Server) -> Self {
        let port = server
            .metrics_port()
            .expect("the service was given a metrics port");
        Self {
            url: format!("http://127.0.0.1:{port}/metrics"),
            http: reqwest::Client::new(),
        }
    }

    /// The whole text, after checking it is served as Prometheus text.
    pub async fn text(&self) -> String {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .expect("metrics served");
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        response.text().await.expect("metrics read")
    }

    /// A sample's value (see [`crate::metrics::sample`]); 0 when the series does not exist yet.
    pub async fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        crate::metrics::sample(&self.text().await, name, labels).unwrap_or(0.0)
    }

    /// Waits until the sample reaches `at_least` (what happens in the background is counted
    /// after the test sees its effect); returns it.
    pub async fn reaches(&self, name: &str, labels: &[(&str, &str)], at_least: f64) -> f64 {
        eventually(&format!("{name}{labels:?} to reach {at_least}"), || async {
            let value = self.value(name, labels).await;
            (value >= at_least).then_some(value)
        })
        .await
    }
}

/// A message stored in a stream, as a test inspects it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub message_id: Option<String>,
    pub payload: Value,
}

/// Every message stored so far under `subject` in the bus's namespace, in stream order.
pub async fn stored_events(
    bus: &crate::events::EventBus,
    subject: crate::events::Subject,
) -> Vec<StoredEvent> {
    let namespace = bus.namespace();
    let stream = bus
        .jetstream()
        .get_stream(namespace.stream(subject.stream().as_str()))
        .await
        .expect("stream exists");
    let last = stream
        .get_info()
        .await
        .expect("stream info")
        .state
        .last_sequence;
    let wanted = namespace.subject(subject.as_str());
    let mut events = Vec::new();
    for sequence in 1..=last {
        let Ok(message) = stream.get_raw_message(sequence).await else {
            continue;
        };
        if message.subject.as_str() != wanted {
            continue;
        }
        events.push(StoredEvent {
            message_id: message
                .headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .map(|id| id.to_string()),
            payload: serde_json::from_slice(&message.payload).unwrap_or(Value::Null),
        });
    }
    events
}

/// Waits until `count` messages are stored under `subject` and returns them all.
pub async fn wait_for_events(
    bus: &crate::events::EventBus,
    subject: crate::events::Subject,
    count: usize,
) -> Vec<StoredEvent> {
    eventually(&format!("{count} {subject} event(s)"), || async {
        let events = stored_events(bus, subject).await;
        (events.len() >= count).then_some(events)
    })
    .await
}

/// Runs a service binary with only `env` set and asserts it refuses to start: a non-zero exit
/// and one line on stderr naming `variable`.
pub fn assert_refuses_to_start(binary: &str, env: &[(&str, &str)], variable: &str) {
    let output = std::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the service binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "{binary} started without a usable {variable}"
    );
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    assert!(
        lines[0].contains(variable),
        "the message does not name {variable}: {stderr}"
    );
}

/// Waits until `service`'s durable consumer of `subject` has handled (acknowledged) every
/// message stored so far under it.
pub async fn wait_until_handled(
    bus: &crate::events::EventBus,
    service: &str,
    subject: crate::events::Subject,
) {
    let durable = crate::events::listener::durable_name(service, subject.as_str());
    let stream = bus
        .jetstream()
        .get_stream(bus.namespace().stream(subject.stream().as_str()))
        .await
        .expect("stream exists");
    eventually(&format!("{durable} to handle every {subject}"), || async {
        let info = stream.consumer_info(&durable).await.ok()?;
        (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
    })
    .await
}
