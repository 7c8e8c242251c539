//! Questions one service asks the owner of a fact, over NATS request-reply.
//!
//! A replica is a cache of another service's truth and may be behind: where a decision must not
//! rest on a stale copy, the service asks the owner, which answers from its own store. The
//! question goes to one instance of the owner (a queue group), so it scales out like the
//! listeners. When no instance answers in time, the asker's handler retries later.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::bus::{BusError, EventBus};

/// How long an asker waits for the owner's answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// A question with its subject (core NATS, outside every stream) and the type of its answer.
pub trait Query: Serialize + DeserializeOwned + Send + Sync + 'static {
    const SUBJECT: &'static str;
    type Answer: Serialize + DeserializeOwned + Send + 'static;
}

/// `orders` → `payments`, when an order's window has passed: closes the order to payment and
/// says whether it was paid. The payments service records a payment before it announces it
/// (`payment.created` may still be in its outbox), so only it can tell.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosePayment {
    pub order_id: String,
}

/// The payments service's answer to [`ClosePayment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PaymentState {
    /// A payment for the order is recorded: the order is paid.
    Paid,
    /// No payment, and none can be taken from now on.
    Closed,
}

impl Query for ClosePayment {
    const SUBJECT: &'static str = "query.payments.close-payment";
    type Answer = PaymentState;
}

/// What goes back to the asker: the answer, or why the owner can not give it yet (a payment in
/// progress, its database down) — the asker retries later.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Reply<A> {
    Answer(A),
    NotYet(String),
}

impl EventBus {
    /// Asks the owner `Q` and waits up to [`ANSWER_TIMEOUT`] for its answer.
    pub async fn ask<Q: Query>(&self, query: &Q) -> Result<Q::Answer, BusError> {
        let mut headers = async_nats::HeaderMap::new();
        crate::telemetry::inject_nats(&mut headers);
        let request = async_nats::Request::new()
            .payload(serde_json::to_vec(query)?.into())
            .headers(headers)
            .timeout(Some(ANSWER_TIMEOUT));
        let message = self
            .client()
            .send_request(self.namespace().subject(Q::SUBJECT), request)
            .await
            .map_err(|error| BusError::Query(format!("{}: {error}", Q::SUBJECT)))?;
        let reply = serde_json::from_slice(&message.payload).map_err(|error| {
            BusError::Query(format!("{}: malformed answer: {error}", Q::SUBJECT))
        })?;
        match reply {
            Reply::Answer(answer) => Ok(answer),
            Reply::NotYet(reason) => Err(BusError::Query(format!("{}: {reason}", Q::SUBJECT))),
        }
    }

    /// Answers every `Q` with `answer(state, query)` until `shutdown`, as one of `service`'s
    /// instances (a queue group: each question reaches one instance). An `Err` (its text) tells
    /// the asker to try again later. Subscribed when this returns, so the service answers once it is up.
    pub async fn answer<Q, S, H, Fut, E>(
        &self,
        service: &str,
        state: S,
        answer: H,
        shutdown: CancellationToken,
    ) -> Result<JoinHandle<()>, BusError>
    where
        Q: Query,
        S: Clone + Send + Sync + 'static,
        H: Fn(S, Q) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Q::Answer, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let bus = self.clone();
        let mut questions = self
            .client()
            .queue_subscribe(self.namespace().subject(Q::SUBJECT), service.to_owned())
            .await
            .map_err(|error| BusError::Query(format!("{}: {error}", Q::SUBJECT)))?;
        // The client subscribes again by itself after a reconnection.
        Ok(tokio::spawn(async move {
            loop {
                let question = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    question = questions.next() => question,
                };
                let Some(question) = question else { return };
                let Some(reply_to) = question.reply.clone() else {
                    continue;
                };
                let (bus, state) = (bus.clone(), state.clone());
                // The answer continues the asker's trace.
                let span = tracing::info_span!(
                    "answer",
                    otel.name = %format_args!("{} process", Q::SUBJECT),
                    otel.kind = "server",
                );
                crate::telemetry::continue_from_nats(&span, question.headers.as_ref());
                let reply = match serde_json::from_slice::<Q>(&question.payload) {
                    Ok(query) => Some(answer(state, query).instrument(span)),
                    Err(error) => {
                        tracing::warn!(subject = %question.subject, %error, "malformed question");
                        None
                    }
                };
                // Each question on its own task: one slow answer does not hold up the others.
                tokio::spawn(async move {
                    let reply = match reply {
                        Some(reply) => match reply.await {
                            Ok(answer) => Reply::Answer(answer),
                            Err(reason) => Reply::NotYet(reason.to_string()),
                        },
                        None => Reply::NotYet("malformed question".to_owned()),
                    };
                    let payload = serde_json::to_vec(&reply).expect("a reply serialises");
                    if let Err(error) = bus.client().publish(reply_to, payload.into()).await {
                        tracing::warn!(%error, "answer not sent; the asker retries");
                    }
                });
            }
        }))
    }
}
