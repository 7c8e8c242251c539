//! Logging and tracing: human-readable log lines by default, JSON with `LOG_FORMAT=json` (each
//! line with the `trace_id` and `span_id` of its span); every `tracing` span is an OpenTelemetry
//! span too, exported over OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. Unset, nothing is exported: the spans still carry
//! trace ids, joined from and passed on to other services (W3C `traceparent`).
//!
//! Settings, the standard OpenTelemetry variables: `OTEL_SERVICE_NAME` (default: the service's
//! name), `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` (default `parentbased_always_on`),
//! `OTEL_BSP_*` (the batch exporter), `OTEL_EXPORTER_OTLP_*` (the exporter).
//!
//! The trace crosses processes three ways, each in one place: HTTP headers ([`request_span`] joins
//! an incoming `traceparent`, [`inject_http`] passes the current one on), NATS message headers
//! ([`inject_nats`], [`continue_from_nats`]), and a stored [`TraceCarrier`] for work that waits
//! (an outbox event, an expiry job).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderMap, Request, Response};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithHttpConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower_http::trace::OnResponse as _;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

mod log_format;
mod otlp_client;

pub use otlp_client::{ClientError as OtlpClientError, OtlpClient, OtlpTls};

/// The trace context of a span, kept with work that runs later (`traceparent`, `tracestate`).
pub type TraceCarrier = HashMap<String, String>;

/// The installed tracer provider, flushed by [`shutdown`].
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber and tracer provider once; later calls (tests spawning several
/// apps) are no-ops.
pub fn init(service: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("info,{service}=info,common=info")));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let provider = PROVIDER.get_or_init(|| tracer_provider(service));
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    // Per request these settings save work the fleet has no use for: the OpenTelemetry context
    // is read from the `tracing` span (`OpenTelemetrySpanExt::context`), never from the ambient
    // one that context activation would maintain on every poll; and busy/idle timings would cost
    // two clock reads per poll and two attributes per exported span.
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("common"))
        .with_context_activation(false)
        .with_tracked_inactivity(false)
        .with_location(false)
        .with_threads(false)
        .with_target(false);
    let registry = tracing_subscriber::registry().with(filter).with(traces);
    let result = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .fmt_fields(log_format::LogFields::json())
                    .event_format(log_format::WithTraceIds::json()),
            )
            .try_init()
    } else {
        // Colours only for a person at a terminal: the fleet's log files stay plain text, and
        // styling every field of every span cost a request about 3 % of its instructions.
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(log_format::LogFields::plain())
                    .with_ansi(std::io::stdout().is_terminal()),
            )
            .try_init()
    };
    // Already installed: keep the first one.
    drop(result);
}

/// The provider: sampler from the standard variables, the OTLP exporter only when an endpoint is
/// set. A failed export (nobody listening) costs a log line and the batch, never a request.
fn tracer_provider(service: &str) -> SdkTracerProvider {
    let name = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| service.to_owned());
    let builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name(name)
            .build(),
    );
    if !exports() {
        return builder.build();
    }
    let exporter = otlp_client::OtlpTls::from_settings(|name| first_setting(&[name]))
        .and_then(|tls| otlp_client::OtlpClient::new(&tls, export_timeout()))
        .map_err(|error| error.to_string())
        .and_then(|client| {
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(client)
                .build()
                .map_err(|error| error.to_string())
        });
    match exporter {
        Ok(exporter) => builder.with_batch_exporter(exporter).build(),
        Err(error) => {
            eprintln!("traces are not exported: the OTLP exporter is unusable: {error}");
            builder.build()
        }
    }
}

/// Whether an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or its traces-only form).
fn exports() -> bool {
    first_setting(&[
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ])
    .is_some()
}

/// How long one export may take: `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or
/// `OTEL_EXPORTER_OTLP_TIMEOUT`, in milliseconds; 10 s by default, as the specification says.
fn export_timeout() -> Duration {
    first_setting(&[
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ])
    .and_then(|millis| millis.trim().parse().ok())
    .map_or(Duration::from_secs(10), Duration::from_millis)
}

/// The first of `names` (the signal's own setting before the general one) that is set.
fn first_setting(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
}

/// Exports what is still batched (at most a few seconds): the last spans of a stopping service.
pub async fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        let provider = provider.clone();
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown());
        let _ = tokio::time::timeout(Duration::from_secs(5), flushed).await;
    }
}

/// The span of one HTTP request (named after its route), joined to the caller's trace when the
/// request carries a `traceparent`.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    // `Display` values (`%`), not strings: the log layer writes a `&str` field `Debug`-escaped,
    // character by character, which measured no cheaper overall.
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{} {route}", request.method()),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    );
    if request.headers().contains_key(TRACEPARENT) {
        set_parent(&span, &HttpHeaders(request.headers()));
    }
    span
}

/// Records the answer's status on the request's span (5xx marks it failed).
pub fn record_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
    tower_http::trace::DefaultOnResponse::default().on_response(response, latency, span);
}

/// Adds the current span's `traceparent` to an outgoing request's headers.
pub fn inject_http(headers: &mut HeaderMap) {
    inject(&mut HttpHeadersMut(headers));
}

/// Adds the current span's trace context to a NATS message's headers.
pub fn inject_nats(headers: &mut async_nats::HeaderMap) {
    inject(&mut NatsHeaders(headers));
}

/// Makes `span` continue the trace of the message with `headers` (a child of the span that
/// published it); a message without trace context leaves `span` a new trace.
pub fn continue_from_nats(span: &Span, headers: Option<&async_nats::HeaderMap>) {
    if let Some(headers) = headers {
        set_parent(span, &NatsHeadersRef(headers));
    }
}

/// The current span's trace context, to keep with work that runs later; `None` outside any span.
pub fn current_carrier() -> Option<TraceCarrier> {
    let context = Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = TraceCarrier::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    Some(carrier)
}

/// Makes `span` continue the trace kept in `carrier` (see [`current_carrier`]).
pub fn continue_from(span: &Span, carrier: Option<&TraceCarrier>) {
    if let Some(carrier) = carrier {
        set_parent(span, carrier);
    }
}

const TRACEPARENT: &str = "traceparent";

fn inject(injector: &mut dyn Injector) {
    let context = Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, injector);
    }
}

fn set_parent(span: &Span, extractor: &dyn Extractor) {
    let parent = TraceContextPropagator::new().extract(extractor);
    if parent.span().span_context().is_valid() {
        // Fails only when the span has started already or tracing is off: it stays a root.
        let _ = span.set_parent(parent);
    }
}

struct HttpHeaders<'a>(&'a HeaderMap);

impl Extractor for HttpHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

struct HttpHeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HttpHeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(key.as_bytes()),
            axum::http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct NatsHeaders<'a>(&'a mut async_nats::HeaderMap);

impl Injector for NatsHeaders<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

struct NatsHeadersRef<'a>(&'a async_nats::HeaderMap);

impl Extractor for NatsHeadersRef<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|value| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_context_is_the_w3c_one() {
        let mut carrier = TraceCarrier::new();
        carrier.insert(
            TRACEPARENT.to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        );
        let context = TraceContextPropagator::new().extract(&carrier);
        let span = context.span();
        let ids = span.span_context();
        assert_eq!(
            ids.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(ids.span_id().to_string(), "00f067aa0ba902b7");
        assert!(ids.is_sampled());
    }
}
