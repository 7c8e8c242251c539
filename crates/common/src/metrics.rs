//! Prometheus metrics, one way for every service: the `metrics` facade, recorded by the
//! Prometheus exporter and served as text at `GET /metrics` on the service's metrics port
//! (`METRICS_PORT`), apart from the API so that neither the gateway nor the ingress routes it.
//!
//! Every metric name is a constant here, so the list is in one place (the README documents it).
//! Metrics carry no `service` label: Prometheus adds the scraped service as `job`.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use ::metrics::{counter, gauge, histogram};

// HTTP (every service).
/// Requests answered, by `method`, `route` (the route's pattern, `unmatched` for a 404 of the
/// fallback) and `status`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Time to answer, by `method` and `route`.
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";

// The outbox relay (tickets, orders, payments).
/// Events written but not yet published.
pub const OUTBOX_PENDING: &str = "outbox_pending_events";
/// Age of the oldest of them (0 when none is pending).
pub const OUTBOX_OLDEST_AGE: &str = "outbox_oldest_pending_age_seconds";

// Listeners, by `consumer` (the durable name, `orders-ticket-updated`).
/// Deliveries handed to the handler, first ones and redeliveries alike.
pub const CONSUMER_DELIVERED: &str = "consumer_messages_delivered_total";
/// Deliveries after the first (a retry, or after an instance died holding the message).
pub const CONSUMER_REDELIVERED: &str = "consumer_messages_redelivered_total";
/// Handler time, by `consumer` and `outcome` (`handled`, `retry`, `dead_letter`).
pub const CONSUMER_HANDLER_DURATION: &str = "consumer_handler_duration_seconds";
/// Messages set aside in the dead-letter stream.
pub const CONSUMER_DEAD_LETTERED: &str = "consumer_messages_dead_lettered_total";
/// Messages stored but not yet acknowledged by the consumer (JetStream's pending plus those it
/// holds unacknowledged).
pub const CONSUMER_PENDING: &str = "consumer_pending_messages";

// The business.
/// Users signed up (auth).
pub const SIGNUPS: &str = "auth_signups_total";
/// Sign-ins refused for a wrong email or password (auth).
pub const SIGNINS_FAILED: &str = "auth_signins_failed_total";
/// Tickets listed (tickets).
pub const TICKETS_CREATED: &str = "tickets_created_total";
/// Reservations refused because the order was priced before the seller's change (tickets).
pub const RESERVATIONS_REFUSED: &str = "tickets_reservations_refused_total";
/// Orders by `outcome`: `created`, `confirmed` (the ticket reserved), `completed` (paid), and
/// the ends of the others: `cancelled` (by the buyer), `expired`, `refused` (the seller changed
/// the ticket) (orders).
pub const ORDERS: &str = "orders_total";
/// Charges by `outcome`: `succeeded`, `declined` (by the card's bank), `failed` (the processor
/// failed it: nothing charged), `refunded` (paid, but the order was cancelled) (payments).
pub const PAYMENTS: &str = "payments_total";
/// Expiries queued for new orders (expiration).
pub const EXPIRATIONS_SCHEDULED: &str = "expirations_scheduled_total";
/// Expiries that came due and were announced (expiration).
pub const EXPIRATIONS_FIRED: &str = "expirations_fired_total";

/// Histogram buckets for every `_seconds` metric: 1 ms to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets between scrapes (so memory stays
/// bounded when nothing scrapes).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder once (later calls return the same one); until then metrics
/// go nowhere. Services install it as they start.
pub fn recorder() -> &'static PrometheusHandle {
    RECORDER.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
            .expect("the buckets are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".to_owned())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_INTERVAL);
                    upkeep.run_upkeep();
                }
            })
            .expect("a thread starts");
        handle
    })
}

/// The router of the metrics port: `GET /metrics` in Prometheus's text format.
pub fn router() -> Router {
    let handle = recorder();
    Router::new().route(
        "/metrics",
        get(move || async move {
            (
                [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                handle.render(),
            )
                .into_response()
        }),
    )
}

/// A sample's value in Prometheus text: the first line of metric `name` whose labels include
/// every one of `labels` (as `key="value"`). Tests and tools read `/metrics` with it.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = match series.split_once('{') {
                Some((metric, rest)) => (metric, rest),
                None => (series, ""),
            };
            let wanted = labels
                .iter()
                .all(|(key, value)| rest.contains(&format!("{key}=\"{value}\"")));
            (metric == name && wanted).then(|| value.parse().ok())?
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_found_by_name_and_labels() {
        let text = "# TYPE orders_total counter\n\
                    orders_total{outcome=\"created\"} 3\n\
                    orders_total{outcome=\"cancelled\"} 1\n\
                    outbox_pending_events 0\n\
                    http_request_duration_seconds_count{method=\"GET\",route=\"/a\"} 7\n";
        assert_eq!(sample(text, ORDERS, &[("outcome", "cancelled")]), Some(1.0));
        assert_eq!(sample(text, ORDERS, &[("outcome", "created")]), Some(3.0));
        assert_eq!(sample(text, OUTBOX_PENDING, &[]), Some(0.0));
        assert_eq!(
            sample(
                text,
                "http_request_duration_seconds_count",
                &[("route", "/a")]
            ),
            Some(7.0)
        );
        assert_eq!(sample(text, ORDERS, &[("outcome", "paid")]), None);
    }
}
