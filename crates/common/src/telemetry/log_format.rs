//! JSON log lines that name their trace: `trace_id` and `span_id` beside tracing-subscriber's own
//! JSON fields, so a line found in the logs leads to its trace and back.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent};
use tracing_subscriber::registry::LookupSpan;

/// tracing-subscriber's JSON line with the ids of the event's span added.
pub struct WithTraceIds<F>(F);

impl WithTraceIds<Format<Json>> {
    pub fn json() -> Self {
        WithTraceIds(Format::default().json().with_current_span(true))
    }
}

impl<S, F> FormatEvent<S, JsonFields> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    F: FormatEvent<S, JsonFields>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
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
}
