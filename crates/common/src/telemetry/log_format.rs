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
