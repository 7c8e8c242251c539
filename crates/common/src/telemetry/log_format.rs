//! How log lines look: JSON lines that name their trace (`trace_id` and `span_id` beside
//! tracing-subscriber's own JSON fields, so a line found in the logs leads to its trace and back),
//! and span fields without the ones meant for the trace alone.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing::{Event, Subscriber};
use tracing_subscriber::field::{MakeVisitor, RecordFields, VisitOutput};
use tracing_subscriber::fmt::format::{
    DefaultFields, Format, Json, JsonFields, JsonVisitor, Writer,
};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Whether a field is for the trace alone: `otel.*` (the span's name, kind and status) and the
/// answer's status, which every request span carries and no log line needs — the log layer
/// formats a span's fields when the span starts and again when one is recorded, for every
/// request, whether or not a line is ever written inside it.
fn trace_only(field: &Field) -> bool {
    let name = field.name();
    name.starts_with("otel.") || name == "http.response.status_code"
}

/// A visitor that passes every field but the trace-only ones on to `V`.
struct LogFieldsOnly<V>(V);

/// Each `Visit` method: passes the field on unless it is trace-only.
macro_rules! pass_log_fields {
    ($($method:ident: $value:ty),* $(,)?) => {
        $(fn $method(&mut self, field: &Field, value: $value) {
            if !trace_only(field) {
                self.0.$method(field, value);
            }
        })*
    };
}

impl<V: Visit> Visit for LogFieldsOnly<V> {
    pass_log_fields!(
        record_f64: f64,
        record_i64: i64,
        record_u64: u64,
        record_bool: bool,
        record_str: &str,
        record_error: &(dyn std::error::Error + 'static),
        record_debug: &dyn fmt::Debug,
    );
}

/// Counts the fields a log line would show.
#[derive(Default)]
struct CountLogFields(usize);

impl Visit for CountLogFields {
    fn record_debug(&mut self, field: &Field, _: &dyn fmt::Debug) {
        if !trace_only(field) {
            self.0 += 1;
        }
    }
}

fn has_log_fields(fields: &Record<'_>) -> bool {
    let mut count = CountLogFields::default();
    fields.record(&mut count);
    count.0 > 0
}

/// tracing-subscriber's field formatting (`DefaultFields` for plain lines, `JsonFields` for
/// JSON), without the trace-only fields.
#[derive(Default)]
pub struct LogFields<F>(F);

/// What differs between the plain and the JSON way of formatting fields.
pub trait FieldFormat: 'static {
    /// Writes `fields`, the trace-only ones left out.
    fn format(&self, writer: Writer<'_>, fields: impl RecordFields) -> fmt::Result;

    /// Adds fields recorded after a span started (formatted by [`FieldFormat::format`]) to the
    /// ones it started with.
    fn merge(current: &mut String, added: String) -> fmt::Result;
}

impl FieldFormat for DefaultFields {
    fn format(&self, writer: Writer<'_>, fields: impl RecordFields) -> fmt::Result {
        record_log_fields(self.make_visitor(writer), fields)
    }

    fn merge(current: &mut String, added: String) -> fmt::Result {
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&added);
        Ok(())
    }
}

impl FieldFormat for JsonFields {
    fn format(&self, mut writer: Writer<'_>, fields: impl RecordFields) -> fmt::Result {
        record_log_fields(JsonVisitor::new(&mut writer), fields)
    }

    /// As `JsonFields` does: the span's fields are one JSON object, so added ones are merged
    /// into it.
    fn merge(current: &mut String, added: String) -> fmt::Result {
        if current.is_empty() {
            *current = added;
            return Ok(());
        }
        let mut merged: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(current).map_err(|_| fmt::Error)?;
        let added: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&added).map_err(|_| fmt::Error)?;
        merged.extend(added);
        *current = serde_json::to_string(&merged).map_err(|_| fmt::Error)?;
        Ok(())
    }
}

impl<'w, F: FieldFormat> FormatFields<'w> for LogFields<F> {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        self.0.format(writer, fields)
    }

    /// Fields recorded later that are all trace-only (the common case: the answer's status)
    /// leave the span's formatted fields as they are.
    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        if !has_log_fields(fields) {
            return Ok(());
        }
        let mut added = String::new();
        self.0.format(Writer::new(&mut added), fields)?;
        F::merge(&mut current.fields, added)
    }
}

/// Formats `fields` with `visitor`, the trace-only ones left out.
fn record_log_fields<V>(visitor: V, fields: impl RecordFields) -> fmt::Result
where
    V: Visit + VisitOutput<fmt::Result>,
{
    let mut visitor = LogFieldsOnly(visitor);
    fields.record(&mut visitor);
    visitor.0.finish()
}

impl LogFields<DefaultFields> {
    pub fn plain() -> Self {
        LogFields(DefaultFields::new())
    }
}

impl LogFields<JsonFields> {
    pub fn json() -> Self {
        LogFields(JsonFields::new())
    }
}

/// tracing-subscriber's JSON line with the ids of the event's span added.
pub struct WithTraceIds<F>(F);

impl WithTraceIds<Format<Json>> {
    pub fn json() -> Self {
        WithTraceIds(Format::default().json().with_current_span(true))
    }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let span = match event.parent() {
            Some(id) => ctx.span(id),
            None if event.is_contextual() => ctx.lookup_current(),
            None => None,
        };
        let ids = span.and_then(|span| {
            // The global subscriber, as `init` installs it: while an event is being dispatched,
            // a scoped one (`with_default`) is hidden from `get_default` (no re-entry).
            let dispatch = tracing::dispatcher::get_default(Clone::clone);
            let context = tracing_opentelemetry::get_otel_context(&span.id(), &dispatch)?;
            let otel_span = context.span();
            let ids = otel_span.span_context();
            ids.is_valid()
                .then(|| (ids.trace_id().to_string(), ids.span_id().to_string()))
        });
        // The line is one JSON object and a newline: the ids go in before its closing brace.
        match (ids, line.trim_end().strip_suffix('}')) {
            (Some((trace_id, span_id)), Some(open)) => writeln!(
                writer,
                "{open},\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"}}"
            ),
            _ => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::TracerProvider as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_inside_a_span_names_its_trace_and_one_outside_does_not() {
        let lines = Lines::default();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .event_format(WithTraceIds::json())
                    .with_writer({
                        let lines = lines.clone();
                        move || lines.clone()
                    }),
            );
        // Global, as in a service (nextest runs each test in a process of its own).
        tracing::subscriber::set_global_default(subscriber).expect("no subscriber yet");
        tracing::info!("outside");
        let span = tracing::info_span!("request", request_id = "r-1");
        let entered = span.enter();
        tracing::info!(order = "o-1", "inside");
        drop(entered);
        let context = span.context();
        let otel_span = context.span();
        let ids = otel_span.span_context();
        let ids = (ids.trace_id().to_string(), ids.span_id().to_string());
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["fields"]["message"], "outside");
        assert!(lines[0].get("trace_id").is_none(), "{text}");
        assert_eq!(lines[1]["fields"]["order"], "o-1");
        assert_eq!(lines[1]["span"]["request_id"], "r-1");
        assert_eq!(lines[1]["trace_id"], ids.0.as_str());
        assert_eq!(lines[1]["span_id"], ids.1.as_str());
        assert_eq!(ids.0.len(), 32);
    }

    /// The log layer sees a request span's `otel.*` fields and its later-recorded status, and
    /// shows neither; the other fields, and one recorded later, as before.
    #[test]
    fn trace_only_fields_stay_out_of_log_lines() {
        let json = Lines::default();
        let plain = Lines::default();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .fmt_fields(LogFields::json())
                    .with_writer({
                        let json = json.clone();
                        move || json.clone()
                    }),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(LogFields::plain())
                    .with_ansi(false)
                    .with_writer({
                        let plain = plain.clone();
                        move || plain.clone()
                    }),
            );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                otel.name = "GET /api/things",
                otel.kind = "server",
                http.response.status_code = tracing::field::Empty,
                user = tracing::field::Empty,
                request_id = "r-1",
            );
            span.record("http.response.status_code", 201_u16);
            span.record("user", "u-1");
            let _entered = span.enter();
            tracing::info!("inside");
        });
        let json = String::from_utf8(json.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON line");
        assert_eq!(
            line["span"],
            serde_json::json!({ "name": "request", "request_id": "r-1", "user": "u-1" }),
            "{json}"
        );
        let plain = String::from_utf8(plain.0.lock().unwrap().clone()).unwrap();
        assert!(
            plain.contains("request{request_id=\"r-1\" user=\"u-1\"}: "),
            "{plain}"
        );
        assert!(!plain.contains("otel") && !plain.contains("201"), "{plain}");
    }
}
