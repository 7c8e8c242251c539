//! One trace across the fleet: `scripts/test.sh` starts the fleet exporting its spans over
//! OTLP/HTTP to `OTLP_RECEIVER_PORT`, where this test listens (decoding `opentelemetry-proto`).
//! A purchase and an expiry driven through the gateway with one `traceparent` (a browser's) end up
//! as one trace with spans of every service, and every listener's span is a child of the span
//! that published its message, back to the request (or the expiry job) that wrote the event.
//!
//! Other end-to-end tests run at the same time and export their own traces here too: only this
//! test's trace id is looked at.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header::CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::post;
use common::testkit::TestClient;
use e2e::{Person, SERVICES, purchase_and_expiry};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;

/// How long the fleet may take to export the last spans (its batches go every second here).
const EXPORTED: Duration = Duration::from_secs(30);

/// A span as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    links: Vec<String>,
    name: String,
    kind: SpanKind,
}

type Spans = Arc<Mutex<Vec<Received>>>;

/// Listens for OTLP/HTTP (protobuf) trace exports on `port`, keeping every span.
async fn receiver(port: u16) -> Spans {
    let spans = Spans::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the OTLP receiver's port is free");
    let app = Router::new()
        .route("/v1/traces", post(receive))
        .with_state(spans.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    spans
}

async fn receive(State(spans): State<Spans>, body: Bytes) -> impl IntoResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new()).into_response();
    };
    let mut kept = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|attribute| attribute.key == "service.name")
            .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
            .map(|value| match value {
                AnyValue::StringValue(name) => name.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        for span in resource
            .scope_spans
            .into_iter()
            .flat_map(|scope| scope.spans)
        {
            kept.push(Received {
                service: service.clone(),
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
                links: span.links.iter().map(|link| hex(&link.span_id)).collect(),
                kind: span.kind(),
                name: span.name,
            });
        }
    }
    let mut answer = (
        StatusCode::OK,
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response();
    answer.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    answer
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The listeners the purchase and the expiry go through: (service, span name).
const LISTENERS: [(&str, &str); 7] = [
    ("orders", "ticket.created process"),
    ("tickets", "order.created process"),
    ("payments", "order.created process"),
    ("expiration", "order.created process"),
    ("orders", "payment.created process"),
    ("orders", "expiration.complete process"),
    ("tickets", "order.cancelled process"),
];

/// One trace's spans by span id.
struct Trace(HashMap<String, Received>);

impl Trace {
    fn has(&self, service: &str, name: &str) -> bool {
        self.0
            .values()
            .any(|span| span.service == service && span.name == name)
    }

    /// Spans of every service and every listener are in, and each span's ancestry is whole, back
    /// to the browser's span (spans come in batches, a parent often after its children).
    fn complete(&self, browser_span: &str) -> bool {
        SERVICES
            .iter()
            .all(|service| self.0.values().any(|span| span.service == *service))
            && LISTENERS
                .iter()
                .all(|(service, name)| self.has(service, name))
            && self.0.values().all(|span| {
                self.ancestry(span)
                    .last()
                    .is_some_and(|root| root.parent_span_id == browser_span)
            })
    }

    /// The span and its ancestors (parents, or the span a link points to), nearest first.
    fn ancestry<'a>(&'a self, span: &'a Received) -> Vec<&'a Received> {
        let mut chain = Vec::new();
        let mut next = Some(span);
        while let Some(span) = next {
            chain.push(span);
            next = self
                .0
                .get(&span.parent_span_id)
                .or_else(|| span.links.iter().find_map(|link| self.0.get(link)));
        }
        chain
    }

    fn describe(&self) -> String {
        let mut lines: Vec<String> = self
            .0
            .values()
            .map(|span| {
                format!(
                    "{} {:?} {} ({} <- {})",
                    span.service, span.kind, span.name, span.span_id, span.parent_span_id
                )
            })
            .collect();
        lines.sort();
        lines.join("\n")
    }
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn a_purchase_and_an_expiry_are_one_trace_across_every_service() {
    let port: u16 = std::env::var("OTLP_RECEIVER_PORT")
        .expect("OTLP_RECEIVER_PORT: scripts/test.sh points the fleet's exporter at it")
        .parse()
        .expect("a port");
    let spans = receiver(port).await;

    // The browser's trace: every request of this test carries it.
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let browser_span = &uuid::Uuid::new_v4().simple().to_string()[..16];
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "traceparent",
        format!("00-{trace_id}-{browser_span}-01").parse().unwrap(),
    );
    let api = TestClient::with_headers(e2e::fleet().gateway.url, headers);

    let seller = Person::sign_up(&api).await;
    let buyer = Person::sign_up(&api).await;
    assert_eq!(api.get("/", Some(&buyer.cookie)).await.status(), 200);
    purchase_and_expiry(&api, &seller, &buyer, "Traced").await;

    let deadline = tokio::time::Instant::now() + common::testkit::scaled(EXPORTED);
    let trace = loop {
        let trace = Trace(
            spans
                .lock()
                .unwrap()
                .iter()
                .filter(|span| span.trace_id == trace_id)
                .map(|span| (span.span_id.clone(), span.clone()))
                .collect(),
        );
        if trace.complete(browser_span) {
            break trace;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "trace {trace_id} lacks services, listeners or parents; it has:\n{}",
            trace.describe()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    // Every listener's span descends from the span that published its message, and that one from
    // the work that wrote the event: a request (or, for the expiry, the job that fired it).
    for listener in trace
        .0
        .values()
        .filter(|span| span.kind == SpanKind::Consumer)
    {
        let chain = trace.ancestry(listener);
        let names: Vec<String> = chain
            .iter()
            .map(|span| format!("{}: {}", span.service, span.name))
            .collect();
        let publisher = chain.get(1).unwrap_or_else(|| {
            panic!(
                "{names:?} has no parent in the trace:\n{}",
                trace.describe()
            )
        });
        assert_eq!(publisher.kind, SpanKind::Producer, "{names:?}");
        assert!(
            chain[2..]
                .iter()
                .any(|span| span.kind == SpanKind::Server || span.name == "expire order"),
            "{names:?} does not reach a request or an expiry"
        );
    }
    // The order's listeners go back to the request that placed it, through the orders service.
    let placed = |span: &&Received| {
        span.service == "orders" && span.kind == SpanKind::Server && span.name == "POST /api/orders"
    };
    for service in ["tickets", "payments", "expiration"] {
        let listener = trace
            .0
            .values()
            .find(|span| span.service == service && span.name == "order.created process")
            .unwrap();
        assert!(
            trace.ancestry(listener).iter().any(placed),
            "{service}'s order.created span does not descend from POST /api/orders"
        );
    }
    // The expiry: the job continues the order.created listener of expiration, and the orders
    // service's handling of its announcement continues the job.
    let expired = trace
        .0
        .values()
        .find(|span| span.service == "orders" && span.name == "expiration.complete process")
        .unwrap();
    let chain = trace.ancestry(expired);
    let job = chain
        .iter()
        .position(|span| span.service == "expiration" && span.name == "expire order")
        .expect("the expiration.complete listener descends from the expiry job");
    assert!(
        chain[job..]
            .iter()
            .any(|span| span.service == "expiration" && span.name == "order.created process"),
        "the expiry job continues the order.created listener"
    );
    assert!(chain[job..].iter().any(placed));
    // The card processor's call is a span of the payment's request.
    assert!(trace.has("payments", "stripe create charge"));
    // The client's page passed the trace on to the API calls it made.
    let page_calls = trace.0.values().filter(|span| {
        span.service != "client"
            && span.kind == SpanKind::Server
            && trace
                .0
                .get(&span.parent_span_id)
                .is_some_and(|parent| parent.service == "client")
    });
    assert!(page_calls.count() > 0, "{}", trace.describe());
    let unique: HashSet<&str> = trace.0.values().map(|span| span.service.as_str()).collect();
    assert_eq!(unique.len(), SERVICES.len());
}
