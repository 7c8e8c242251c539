//! The HTTP shell every service shares: the layers, the 404/405 answers, health endpoints and
//! serving with graceful shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, EXPECT, HeaderValue, TRANSFER_ENCODING,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::BytesMut;
use futures::StreamExt;
use serde_json::json;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::connections::{MAX_HEADER_BYTES, MAX_HEADERS};
pub use crate::connections::{bind, serve};
use crate::error::ApiError;
use crate::input::MAX_BODY_BYTES;

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Check = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// What `/readyz` checks: each named dependency must answer.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name, Arc::new(move || Box::pin(check()))));
        self
    }

    pub fn mongo(self, db: mongodb::Database) -> Self {
        self.check("mongodb", move || {
            let db = db.clone();
            async move { crate::mongo::ping(&db).await }
        })
    }

    pub fn nats(self, client: async_nats::Client) -> Self {
        self.check("nats", move || {
            let state = client.connection_state();
            async move {
                match state {
                    async_nats::connection::State::Connected => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        })
    }

    async fn report(&self) -> Response {
        let mut failures = serde_json::Map::new();
        for (name, check) in &self.checks {
            let outcome = tokio::time::timeout(std::time::Duration::from_secs(2), check()).await;
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    failures.insert((*name).to_owned(), error.into());
                }
                Err(_) => {
                    failures.insert((*name).to_owned(), "timed out".into());
                }
            }
        }
        if failures.is_empty() {
            (StatusCode::OK, axum::Json(json!({ "status": "ready" }))).into_response()
        } else {
            let body = json!({
                "errors": [{ "message": "Service unavailable" }],
                "unavailable": failures,
            });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}

/// Wraps a service's API routes with what every service has: health endpoints, the contract's
/// 404/405/413 answers, the body limit, whole-body reading and a tracing span per request.
pub fn app(api: Router, readiness: Readiness) -> Router {
    let readiness = Arc::new(readiness);
    api.route(
        "/healthz",
        get(|| async { axum::Json(json!({ "status": "alive" })) }),
    )
    .route(
        "/readyz",
        get(move || {
            let readiness = readiness.clone();
            async move { readiness.report().await }
        }),
    )
    .fallback(|| async { ApiError::NotFound })
    // One stack, applied once: every `.layer` call boxes each route again, and each box is
    // cloned on every request; and one middleware function instead of two (each boxes its
    // future and clones what it wraps). Together ~10% of a cookie-only request's CPU.
    .layer(
        tower::ServiceBuilder::new()
            // `x-request-id`: the gateway's, or a new one when the service is called directly;
            // logged with the request's span and echoed in the answer.
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            // A span per request, joined to the caller's trace (`traceparent`).
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(crate::telemetry::request_span)
                    .on_response(crate::telemetry::record_response),
            )
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(axum::middleware::from_fn(whole_body_and_contract_shape)),
    )
}

/// The per-request part of the shell: refuses too many or too large headers, reads the whole
/// body first ([`read_whole_body`]), then gives axum's own bare error answers the contract's
/// shape ([`contract_shape`]), adds the headers every answer carries ([`protective_headers`]),
/// and counts the request with its time ([`crate::metrics::HTTP_REQUESTS`]).
async fn whole_body_and_contract_shape(request: Request<Body>, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().as_str().to_owned();
    // The route's pattern (`/api/tickets/{id}`), not the path: one series per route.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = if headers_too_large(&request) {
        ApiError::HeadersTooLarge.into_response()
    } else {
        contract_shape(read_whole_body(request, next).await).await
    };
    let status = response.status().as_u16().to_string();
    crate::metrics::histogram!(
        crate::metrics::HTTP_REQUEST_DURATION,
        "method" => method.clone(),
        "route" => route.clone()
    )
    .record(started.elapsed());
    crate::metrics::counter!(
        crate::metrics::HTTP_REQUESTS,
        "method" => method,
        "route" => route,
        "status" => status
    )
    .increment(1);
    protective_headers(response)
}

/// More headers, or more bytes of them, than any browser sends (the gateway allows as many bytes).
fn headers_too_large(request: &Request<Body>) -> bool {
    let headers = request.headers();
    headers.len() > MAX_HEADERS
        || headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>()
            > MAX_HEADER_BYTES
}

/// Every answer is what its `Content-Type` says (`nosniff`), and none is kept by a browser or a
/// shared cache unless its route says otherwise: answers name the signed-in user and their
/// orders. (A route that sets `Cache-Control` itself, like the client's hashed assets, keeps it.)
fn protective_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Gives the bare error answers axum produces itself (405 for a wrong method) the contract's
/// JSON shape.
async fn contract_shape(response: Response) -> Response {
    let bare = response.headers().get(CONTENT_TYPE).is_none();
    match response.status() {
        StatusCode::METHOD_NOT_ALLOWED if bare => {
            let allow = response.headers().get(axum::http::header::ALLOW).cloned();
            let mut shaped = ApiError::MethodNotAllowed.into_response();
            if let Some(allow) = allow {
                shaped
                    .headers_mut()
                    .insert(axum::http::header::ALLOW, allow);
            }
            shaped
        }
        StatusCode::PAYLOAD_TOO_LARGE if bare => ApiError::PayloadTooLarge.into_response(),
        _ => response,
    }
}

/// How much of a body over the limit is still read (and thrown away) so that its connection ends
/// cleanly; the gateway never forwards more than 1 MiB.
const DRAIN_LIMIT: usize = 4 * 1024 * 1024;
/// How long reading the part of a body over the limit may take.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads every request body to its end before the handler runs, keeping at most one byte more
/// than [`MAX_BODY_BYTES`], so the extractors still see an oversized body and answer 413 (in
/// the service's own shape) as they would have.
///
/// Answering before the body is read is what this prevents: hyper then closes the connection
/// with the body's bytes unread, the kernel resets it, and the sender — the gateway, still
/// writing the body over its keep-alive connection — gets a broken pipe instead of the 413 and
/// reports the service unavailable (a 502, which the gateway turns into 503). A handler that
/// reads no body (signout) had the same problem with any body larger than what had arrived.
/// Read whole, the connection stays usable, too.
async fn read_whole_body(request: Request<Body>, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let too_large = declared.is_some_and(|length| length > MAX_BODY_BYTES as u64);
    // Nothing to read; or a body the sender waits to be asked for (`Expect: 100-continue`), so
    // the 413 goes out before it is sent; or one too large to be worth reading.
    if body.is_end_stream()
        || (too_large && parts.headers.contains_key(EXPECT))
        || declared.is_some_and(|length| length > DRAIN_LIMIT as u64)
    {
        return next.run(Request::from_parts(parts, body)).await;
    }

    let mut chunks = body.into_data_stream();
    let mut kept = BytesMut::new();
    let mut seen = 0usize;
    let mut failure = None;
    // The part within the limit is read as the handler would have read it; the excess only
    // for so long and so far.
    while kept.len() <= MAX_BODY_BYTES {
        match chunks.next().await {
            Some(Ok(chunk)) => {
                seen += chunk.len();
                let room = MAX_BODY_BYTES + 1 - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Some(Err(error)) => {
                failure = Some(error);
                break;
            }
            None => break,
        }
    }
    if kept.len() > MAX_BODY_BYTES && failure.is_none() {
        let drain = async {
            while let Some(chunk) = chunks.next().await {
                match chunk {
                    Ok(chunk) => {
                        seen += chunk.len();
                        if seen > DRAIN_LIMIT {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        };
        // Past the limit or the timeout the rest stays unread: the connection is closed after the
        // answer.
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
    }

    let kept = kept.freeze();
    let body = match failure {
        // The sender's own failure (a cut connection) reaches the extractor, after what was kept.
        Some(error) => Body::from_stream(futures::stream::iter([Ok(kept), Err::<Bytes, _>(error)])),
        None => {
            parts.headers.remove(TRANSFER_ENCODING);
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(kept.len()));
            Body::from(kept)
        }
    };
    next.run(Request::from_parts(parts, body)).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::JsonBody;
    use axum::routing::post;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A shell around two routes: one reads a JSON body, one reads no body at all.
    async fn serve_app() -> String {
        let api = Router::new()
            .route(
                "/json",
                post(|JsonBody(body): JsonBody| async move { axum::Json(body.len()) }),
            )
            .route("/ignore", post(|| async { "ignored" }));
        let (listener, address) = bind(0).await.unwrap();
        tokio::spawn(serve(
            listener,
            app(api, Readiness::new()),
            std::future::pending(),
        ));
        format!("127.0.0.1:{}", address.port())
    }

    /// Reads one answer (status and body) off a keep-alive connection.
    async fn read_answer(stream: &mut TcpStream) -> Option<(u16, String)> {
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => raw.push(byte[0]),
                _ => return None,
            }
        }
        let head = String::from_utf8(raw).unwrap();
        let status = head.split(' ').nth(1)?.parse().ok()?;
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await.ok()?;
        Some((status, String::from_utf8_lossy(&body).into_owned()))
    }

    fn post_request(path: &str, body: &[u8], chunked: bool) -> Vec<u8> {
        let mut request =
            format!("POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n")
                .into_bytes();
        if chunked {
            request.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for chunk in body.chunks(10_000) {
                request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                request.extend_from_slice(chunk);
                request.extend_from_slice(b"\r\n");
            }
            request.extend_from_slice(b"0\r\n\r\n");
        } else {
            request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            request.extend_from_slice(body);
        }
        request
    }

    /// Sends the request, then a second one on the same connection: both must be answered (an
    /// answer sent before the body was read would have closed, or reset, the connection).
    async fn answer_and_next(address: &str, request: &[u8]) -> ((u16, String), (u16, String)) {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(request)
            .await
            .expect("the whole body is taken");
        let first = read_answer(&mut stream).await.expect("an answer");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .expect("the connection is still open");
        let second = read_answer(&mut stream)
            .await
            .expect("a second answer on the connection");
        (first, second)
    }

    #[tokio::test]
    async fn an_oversized_body_is_read_answered_413_and_the_connection_lives_on() {
        let address = serve_app().await;
        for (body, chunked) in [
            (vec![b' '; MAX_BODY_BYTES + 1], false),
            (vec![b' '; 1024 * 1024], false),
            (vec![b' '; 200 * 1024], true),
        ] {
            let ((status, answer), (next, _)) =
                answer_and_next(&address, &post_request("/json", &body, chunked)).await;
            assert_eq!(
                status,
                413,
                "{} bytes, chunked: {chunked}: {answer}",
                body.len()
            );
            assert_eq!(
                answer,
                r#"{"errors":[{"message":"Request body is larger than 64 KiB"}]}"#
            );
            assert_eq!(next, 200);
        }
    }

    #[tokio::test]
    async fn a_body_the_handler_does_not_read_is_read_anyway() {
        let address = serve_app().await;
        let ((status, answer), (next, _)) = answer_and_next(
            &address,
            &post_request("/ignore", &vec![b'x'; 1024 * 1024], false),
        )
        .await;
        assert_eq!((status, answer.as_str(), next), (200, "ignored", 200));
    }

    #[tokio::test]
    async fn a_request_id_is_echoed_or_made() {
        let address = serve_app().await;
        let client = request_id_of_healthz(&address, Some("gateway-id-1")).await;
        assert_eq!(client.as_deref(), Some("gateway-id-1"));
        let made = request_id_of_healthz(&address, None)
            .await
            .expect("an id is made");
        assert_eq!(made.len(), 36, "a UUID: {made}");
        let other = request_id_of_healthz(&address, None)
            .await
            .expect("an id is made");
        assert_ne!(made, other);
    }

    /// `GET /healthz` over a raw connection; the answer's `x-request-id`.
    async fn request_id_of_healthz(address: &str, request_id: Option<&str>) -> Option<String> {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let header = request_id.map_or(String::new(), |id| format!("x-request-id: {id}\r\n"));
        let request =
            format!("GET /healthz HTTP/1.1\r\nHost: test\r\n{header}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("x-request-id")
                .then(|| value.trim().to_owned())
        })
    }

    #[tokio::test]
    async fn too_many_or_too_large_headers_are_a_json_431() {
        let address = serve_app().await;
        let many: String = (0..101).map(|i| format!("X-Extra-{i}: 1\r\n")).collect();
        let large = format!("Cookie: session={}\r\n", "A".repeat(33 * 1024));
        for extra in [many, large] {
            let mut stream = TcpStream::connect(&address).await.unwrap();
            let request = format!("GET /healthz HTTP/1.1\r\nHost: test\r\n{extra}\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let (status, answer) = read_answer(&mut stream).await.expect("an answer");
            assert_eq!(
                (status, answer.as_str()),
                (
                    431,
                    r#"{"errors":[{"message":"Request headers too large"}]}"#
                )
            );
        }
    }

    #[tokio::test]
    async fn every_answer_says_nosniff_and_no_store() {
        let address = serve_app().await;
        for path in ["/healthz", "/nowhere"] {
            let response = answer_head(&address, path).await;
            assert!(
                response.contains("x-content-type-options: nosniff"),
                "{response}"
            );
            assert!(response.contains("cache-control: no-store"), "{response}");
        }
    }

    #[tokio::test]
    async fn a_client_slow_to_send_its_headers_is_cut_off() {
        let (listener, address) = bind(0).await.unwrap();
        tokio::spawn(crate::connections::serve_with_header_timeout(
            listener,
            app(Router::new(), Readiness::new()),
            std::future::pending(),
            Duration::from_secs(1),
        ));
        let mut stream = TcpStream::connect(("127.0.0.1", address.port()))
            .await
            .unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest));
        assert!(
            closed.await.is_ok(),
            "the connection is closed after the deadline"
        );
    }

    /// The head of a GET's answer, header names in lower case.
    async fn answer_head(address: &str, path: &str) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        String::from_utf8_lossy(&raw).to_lowercase()
    }

    #[tokio::test]
    async fn bodies_within_the_limit_reach_the_handler_whole() {
        let address = serve_app().await;
        let mut body = br#"{"a":1,"b":2}"#.to_vec();
        body.resize(MAX_BODY_BYTES, b' ');
        for chunked in [false, true] {
            let ((status, answer), _) =
                answer_and_next(&address, &post_request("/json", &body, chunked)).await;
            assert_eq!((status, answer.as_str()), (200, "2"), "chunked: {chunked}");
        }
    }
}
