//! The connection to NATS JetStream: streams, namespacing and publishing.

use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage, stream};
use bytes::Bytes;
use tracing::Instrument;

use super::contracts::{Event, StreamName};
use crate::settings::EventSettings;

/// How long the streams remember message ids to drop re-published duplicates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// The stream where messages that keep failing are set aside for an operator.
pub const DEAD_LETTER_STREAM: &str = "DEADLETTER";

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot reach NATS: {0}")]
    Connect(#[from] async_nats::ConnectError),
    #[error("stream set-up failed: {0}")]
    Stream(String),
    #[error("publish failed: {0}")]
    Publish(String),
    #[error("event could not be serialised: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("no answer: {0}")]
    Query(String),
}

/// A prefix isolating one fleet's streams and subjects from another's on the same server.
/// Empty in production; each test run of a service gets its own so tests run in parallel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    pub fn new(prefix: impl Into<String>) -> Self {
        Namespace(prefix.into())
    }

    /// The prefix itself (empty in production).
    pub fn prefix(&self) -> &str {
        &self.0
    }

    pub fn subject(&self, subject: &str) -> String {
        if self.0.is_empty() {
            subject.to_owned()
        } else {
            format!("{}.{subject}", self.0)
        }
    }

    pub fn stream(&self, name: &str) -> String {
        if self.0.is_empty() {
            name.to_owned()
        } else {
            format!("{}_{name}", self.0)
        }
    }

    /// The subject as the contract names it, without this namespace's prefix.
    pub fn strip<'a>(&self, subject: &'a str) -> &'a str {
        if self.0.is_empty() {
            subject
        } else {
            subject
                .strip_prefix(self.0.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .unwrap_or(subject)
        }
    }
}

/// The span of one publication: its message carries this span's trace context, so each
/// listener's span is its child.
pub fn publish_span(subject: &str, message_id: &str) -> tracing::Span {
    tracing::info_span!(
        "publish",
        otel.name = %format_args!("{subject} publish"),
        otel.kind = "producer",
        subject = %subject,
        message_id = %message_id,
    )
}

/// A JetStream connection shared by a service's publishers, relay and listeners.
#[derive(Clone)]
pub struct EventBus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    namespace: Namespace,
    /// Copies of each stream this bus creates (`NATS_STREAM_REPLICAS`).
    stream_replicas: usize,
}

impl EventBus {
    /// Connects; when NATS is down the client keeps retrying in the background, so a service
    /// starts anyway and catches up once NATS is back.
    pub async fn connect(url: &str, namespace: Namespace) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(2))
            .connect(url)
            .await?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(Duration::from_secs(5));
        Ok(Self {
            client,
            jetstream,
            namespace,
            stream_replicas: 1,
        })
    }

    /// Connects as a service does: to `NATS_URL`, in `NATS_NAMESPACE`, creating streams with
    /// `NATS_STREAM_REPLICAS` copies.
    pub async fn from_settings(settings: &EventSettings) -> Result<Self, BusError> {
        let bus = Self::connect(
            &settings.nats_url,
            Namespace::new(settings.namespace.clone()),
        )
        .await?;
        Ok(bus.with_stream_replicas(settings.stream_replicas))
    }

    /// Creates (and updates) streams with this many copies; a cluster of at least that many
    /// JetStream servers must be there to hold them.
    pub fn with_stream_replicas(mut self, replicas: usize) -> Self {
        self.stream_replicas = replicas;
        self
    }

    /// How many copies of each stream (and key-value bucket) this bus creates.
    pub fn stream_replicas(&self) -> usize {
        self.stream_replicas
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Creates or updates TICKETS, ORDERS and the dead-letter stream (file storage, duplicate window).
    pub async fn ensure_streams(&self) -> Result<(), BusError> {
        for name in StreamName::ALL {
            let subjects = name
                .subjects()
                .iter()
                .map(|s| self.namespace.subject(s))
                .collect();
            self.ensure_stream(name.as_str(), subjects).await?;
        }
        self.ensure_stream(
            DEAD_LETTER_STREAM,
            vec![self.namespace.subject("deadletter.>")],
        )
        .await
    }

    async fn ensure_stream(&self, name: &str, subjects: Vec<String>) -> Result<(), BusError> {
        let config = stream::Config {
            name: self.namespace.stream(name),
            subjects,
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            num_replicas: self.stream_replicas,
            ..Default::default()
        };
        self.jetstream
            .create_or_update_stream(config)
            .await
            .map(drop)
            .map_err(|error| BusError::Stream(format!("{name}: {error}")))
    }

    /// Publishes an event and waits until the stream has stored it (in a producer span of the
    /// current trace).
    pub async fn publish<E: Event>(&self, event: &E) -> Result<(), BusError> {
        let payload = serde_json::to_vec(event)?;
        let message_id = event.message_id();
        self.publish_raw(E::SUBJECT.as_str(), &message_id, payload.into())
            .instrument(publish_span(E::SUBJECT.as_str(), &message_id))
            .await
    }

    /// Publishes a payload under `subject` (without namespace) with `Nats-Msg-Id: message_id` and
    /// the current span's trace context: its listeners continue that trace.
    pub async fn publish_raw(
        &self,
        subject: &str,
        message_id: &str,
        payload: Bytes,
    ) -> Result<(), BusError> {
        let mut headers = async_nats::HeaderMap::new();
        crate::telemetry::inject_nats(&mut headers);
        self.publish_message(
            self.namespace.subject(subject),
            PublishMessage::build()
                .payload(payload)
                .headers(headers)
                .message_id(message_id),
        )
        .await
    }

    pub(crate) async fn publish_message(
        &self,
        subject: String,
        message: PublishMessage,
    ) -> Result<(), BusError> {
        let ack = self
            .jetstream
            .send_publish(subject, message)
            .await
            .map_err(|error| BusError::Publish(error.to_string()))?;
        ack.await
            .map(drop)
            .map_err(|error| BusError::Publish(error.to_string()))
    }
}
