//! Durable pull consumers with explicit acknowledgement, bounded retries and a dead-letter stream.
//!
//! One consumer per service and subject (`orders-ticket-updated`). Messages are handled in
//! [`LANES`] lanes side by side, each event in the lane of its key (the ticket or order it is
//! about), so the events of one aggregate are handled one at a time in stream order — versioned
//! replicas see them in the order they were stored — while a backlog of many aggregates drains
//! in parallel. A handler that asks to retry later gets a delayed redelivery with back-off. After
//! [`MAX_DELIVERIES`] failed deliveries the message is copied to the dead-letter stream, logged
//! with its subject, id and last error, and terminated: visible, never silently dropped.

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{AckKind, Message};
use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::bus::{DEAD_LETTER_STREAM, EventBus};
use super::contracts::Event;
use crate::metrics::{self, counter, gauge, histogram};

/// How many times a message is delivered before it is set aside: with [`retry_delay`], about
/// 75 s of retrying, enough to outlast a dependency's restart.
pub const MAX_DELIVERIES: i64 = 40;

/// How many messages of one consumer are handled at once (each aggregate's in order).
pub const LANES: usize = 16;

/// Messages queued per lane: with the one in hand, what JetStream lets the consumer hold
/// unacknowledged is sized to match (`max_ack_pending`).
const LANE_DEPTH: usize = 8;

/// How long JetStream waits for a message's acknowledgement before delivering it again: what
/// a crashed instance had taken (up to `max_ack_pending` messages) comes back this soon. Far
/// above a handler's time (milliseconds; a database call gives up after 5 s).
const ACK_WAIT: Duration = Duration::from_secs(10);

/// The lane of an event's key.
fn lane_of(key: &str) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % LANES as u64) as usize
}

/// How often a consumer's backlog in JetStream is read for [`metrics::CONSUMER_PENDING`].
const PENDING_INTERVAL: Duration = Duration::from_secs(5);

/// Sets the consumer's pending gauge from JetStream every [`PENDING_INTERVAL`]: stored but not
/// delivered, plus delivered but not acknowledged.
async fn watch_pending(
    durable: String,
    consumer: async_nats::jetstream::consumer::Consumer<pull::Config>,
) {
    let mut every = tokio::time::interval(PENDING_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match consumer.get_info().await {
            Ok(info) => {
                let pending = info.num_pending as f64 + info.num_ack_pending as f64;
                gauge!(metrics::CONSUMER_PENDING, "consumer" => durable.clone()).set(pending);
            }
            Err(error) => tracing::debug!(consumer = %durable, %error, "consumer backlog not read"),
        }
    }
}

/// Why a handler did not finish a message.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Not now: a dependency is down, or an earlier event has not arrived yet.
    #[error("retry later: {0:#}")]
    Retry(anyhow::Error),
    /// Never: the message can not be handled however often it is retried.
    #[error("rejected: {0:#}")]
    Reject(anyhow::Error),
}

impl HandlerError {
    pub fn retry(reason: impl std::fmt::Display) -> Self {
        HandlerError::Retry(anyhow::anyhow!("{reason}"))
    }

    pub fn reject(reason: impl std::fmt::Display) -> Self {
        HandlerError::Reject(anyhow::anyhow!("{reason}"))
    }
}

impl From<mongodb::error::Error> for HandlerError {
    fn from(error: mongodb::error::Error) -> Self {
        HandlerError::Retry(error.into())
    }
}

pub type HandlerResult = Result<(), HandlerError>;

/// The delay before a failed message is delivered again: 100 ms doubling to 2 s. Short at the
/// top, so an event that waits for its predecessor (a replica's gap) is applied within about 2 s
/// of it rather than after a long back-off (a fault run saw replicas lag 20 s that way).
pub fn retry_delay(delivered: i64) -> Duration {
    let exponent = delivered.clamp(1, 8) as u32 - 1;
    Duration::from_millis(100 * 2u64.pow(exponent)).min(Duration::from_secs(2))
}

/// The durable consumer name of `service` for `subject`: `orders` + `ticket.updated` →
/// `orders-ticket-updated`.
pub fn durable_name(service: &str, subject: &str) -> String {
    format!("{service}-{}", subject.replace('.', "-"))
}

impl EventBus {
    /// Runs `handler(state, event)` for every `E` until `shutdown`, with a clone of `state`
    /// per message (the service's store, typically).
    pub fn listen_with<E, S, H, Fut>(
        &self,
        service: &str,
        state: S,
        handler: H,
        shutdown: CancellationToken,
    ) -> JoinHandle<()>
    where
        E: Event,
        S: Clone + Send + Sync + 'static,
        H: Fn(S, E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send,
    {
        self.listen(
            service,
            move |event: E| handler(state.clone(), event),
            shutdown,
        )
    }

    /// Runs `handler` for every `E` until `shutdown`; the message in hand is finished first.
    pub fn listen<E, H, Fut>(
        &self,
        service: &str,
        handler: H,
        shutdown: CancellationToken,
    ) -> JoinHandle<()>
    where
        E: Event,
        H: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send,
    {
        let bus = self.clone();
        let durable = durable_name(service, E::SUBJECT.as_str());
        let handler = Arc::new(handler);
        tokio::spawn(async move {
            let mut attempt = 0;
            while !shutdown.is_cancelled() {
                match bus.consume::<E, _, _>(&durable, &handler, &shutdown).await {
                    Ok(()) => attempt = 0,
                    Err(error) => {
                        attempt += 1;
                        tracing::warn!(consumer = %durable, %error, "consumer interrupted; reconnecting");
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(retry_delay(attempt)) => {}
                }
            }
            tracing::debug!(consumer = %durable, "consumer stopped");
        })
    }

    async fn consume<E, H, Fut>(
        &self,
        durable: &str,
        handler: &Arc<H>,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()>
    where
        E: Event,
        H: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send,
    {
        let stream_name = self.namespace().stream(E::SUBJECT.stream().as_str());
        let stream = match self.jetstream().get_stream(&stream_name).await {
            Ok(stream) => stream,
            Err(_) => {
                self.ensure_streams().await?;
                self.jetstream().get_stream(&stream_name).await?
            }
        };
        let consumer: async_nats::jetstream::consumer::Consumer<pull::Config> = stream
            .get_or_create_consumer(
                durable,
                pull::Config {
                    durable_name: Some(durable.to_owned()),
                    filter_subject: self.namespace().subject(E::SUBJECT.as_str()),
                    ack_policy: AckPolicy::Explicit,
                    deliver_policy: DeliverPolicy::All,
                    ack_wait: ACK_WAIT,
                    max_ack_pending: (LANES * (LANE_DEPTH + 1)) as i64,
                    ..Default::default()
                },
            )
            .await?;
        let mut messages = consumer
            .stream()
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await?;
        let mut lanes = Vec::with_capacity(LANES);
        let mut queues = Vec::with_capacity(LANES);
        for _ in 0..LANES {
            let (queue, mut queued) =
                tokio::sync::mpsc::channel::<(Message, Result<E, String>)>(LANE_DEPTH);
            let (bus, durable, handler) = (self.clone(), durable.to_owned(), handler.clone());
            lanes.push(tokio::spawn(async move {
                while let Some((message, event)) = queued.recv().await {
                    bus.handle(&durable, &*handler, message, event).await;
                }
            }));
            queues.push(queue);
        }
        // Beside the message loop, so a slow answer (NATS restarting) never holds messages up.
        let watching = tokio::spawn(watch_pending(durable.to_owned(), consumer.clone()));
        let outcome = loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => break Ok(()),
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    // A payload that does not parse has no key; it is rejected in lane 0.
                    let event = serde_json::from_slice::<E>(&message.payload)
                        .map_err(|error| error.to_string());
                    let lane = event.as_ref().map_or(0, |event| lane_of(event.key()));
                    if queues[lane].send((message, event)).await.is_err() {
                        break Ok(());
                    }
                }
                Some(Err(error)) => break Err(error.into()),
                None => break Ok(()),
            }
        };
        watching.abort();
        // The lanes finish what they hold and what is queued for them.
        drop(queues);
        for lane in lanes {
            let _ = lane.await;
        }
        outcome
    }

    async fn handle<E, H, Fut>(
        &self,
        durable: &str,
        handler: &H,
        message: Message,
        event: Result<E, String>,
    ) where
        E: Event,
        H: Fn(E) -> Fut,
        Fut: Future<Output = HandlerResult>,
    {
        let delivered = message.info().map(|info| info.delivered).unwrap_or(1);
        counter!(metrics::CONSUMER_DELIVERED, "consumer" => durable.to_owned()).increment(1);
        if delivered > 1 {
            counter!(metrics::CONSUMER_REDELIVERED, "consumer" => durable.to_owned()).increment(1);
        }
        // The handler's work continues the trace of whoever published the message (every
        // consumer of a subject starts a child span of that one publication).
        let span = tracing::info_span!(
            "consume",
            otel.name = %format_args!("{} process", E::SUBJECT.as_str()),
            otel.kind = "consumer",
            consumer = %durable,
            delivered,
        );
        crate::telemetry::continue_from_nats(&span, message.headers.as_ref());
        let started = std::time::Instant::now();
        let outcome = match event {
            Ok(event) => handler(event).instrument(span).await,
            Err(error) => Err(HandlerError::reject(format!("malformed payload: {error}"))),
        };
        let handled = |outcome: &'static str| {
            histogram!(metrics::CONSUMER_HANDLER_DURATION, "consumer" => durable.to_owned(), "outcome" => outcome)
                .record(started.elapsed());
        };
        let ack = match outcome {
            Ok(()) => {
                handled("handled");
                AckKind::Ack
            }
            Err(HandlerError::Retry(error)) if delivered < MAX_DELIVERIES => {
                handled("retry");
                tracing::debug!(consumer = %durable, delivered, error = %format!("{error:#}"), "will retry");
                AckKind::Nak(Some(retry_delay(delivered)))
            }
            Err(error) => {
                handled("dead_letter");
                if self
                    .set_aside(durable, &message, delivered, &error.to_string())
                    .await
                {
                    counter!(metrics::CONSUMER_DEAD_LETTERED, "consumer" => durable.to_owned())
                        .increment(1);
                    AckKind::Term
                } else {
                    // Not copied anywhere yet: keep it in the stream rather than lose it.
                    AckKind::Nak(Some(retry_delay(delivered)))
                }
            }
        };
        if let Err(error) = message.ack_with(ack).await {
            // The message will be redelivered after ack_wait; handlers are idempotent.
            tracing::warn!(consumer = %durable, %error, "acknowledgement failed");
        }
    }

    /// Copies a message that keeps failing to the dead-letter stream and logs it.
    async fn set_aside(
        &self,
        durable: &str,
        message: &Message,
        delivered: i64,
        error: &str,
    ) -> bool {
        let message_id = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::error!(
            consumer = %durable,
            subject = %message.subject,
            message_id = %message_id,
            delivered,
            error,
            "message set aside in the {DEAD_LETTER_STREAM} stream"
        );
        let mut headers = HeaderMap::new();
        headers.insert("Ticketing-Original-Subject", message.subject.as_str());
        headers.insert("Ticketing-Original-Msg-Id", message_id.as_str());
        headers.insert("Ticketing-Error", error.replace(['\r', '\n'], " ").as_str());
        headers.insert("Ticketing-Deliveries", delivered.to_string().as_str());
        let dead_letter = PublishMessage::build()
            .payload(message.payload.clone())
            .headers(headers)
            .message_id(format!("{durable}:{message_id}"));
        let subject = self.namespace().subject(&format!("deadletter.{durable}"));
        match self.publish_message(subject, dead_letter).await {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(consumer = %durable, %error, "could not copy the message to the dead-letter stream");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stay_bounded() {
        assert_eq!(retry_delay(1), Duration::from_millis(100));
        assert_eq!(retry_delay(2), Duration::from_millis(200));
        assert_eq!(retry_delay(50), Duration::from_secs(2));
        let patience: Duration = (1..MAX_DELIVERIES).map(retry_delay).sum();
        assert!(patience > Duration::from_secs(60), "{patience:?}");
        assert_eq!(
            durable_name("orders", "ticket.updated"),
            "orders-ticket-updated"
        );
    }
}
