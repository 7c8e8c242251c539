//! Follows the TICKETS stream so that this replica's listing drops what other replicas changed.

use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use common::events::{EventBus, StreamName};
use common::tasks::BackgroundTasks;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::models::listing::Listing;

/// How long to wait before following again after the stream could not be read.
const RETRY: Duration = Duration::from_secs(1);

/// Every message on TICKETS is a change of a ticket: each drops the listing. An ordered consumer
/// (ephemeral, in memory, headers only) resumes after the last message it delivered when NATS
/// comes back, so no change is missed, only heard of late.
pub fn spawn(bus: &EventBus, listing: &Listing, background: &mut BackgroundTasks) {
    let (bus, listing, shutdown) = (bus.clone(), listing.clone(), background.shutdown_token());
    background.add(tokio::spawn(async move {
        while !shutdown.is_cancelled() {
            if let Err(error) = follow(&bus, &listing, &shutdown).await {
                tracing::warn!(%error, "not following TICKETS; the listing is read per request");
            }
            listing.not_following();
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(RETRY) => {}
            }
        }
    }));
}

async fn follow(
    bus: &EventBus,
    listing: &Listing,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let name = bus.namespace().stream(StreamName::Tickets.as_str());
    let mut stream = match bus.jetstream().get_stream(&name).await {
        Ok(stream) => stream,
        Err(_) => {
            bus.ensure_streams().await?;
            bus.jetstream().get_stream(&name).await?
        }
    };
    // From the next message on: anything earlier is in the database already.
    let last = stream.info().await?.state.last_sequence;
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: bus.namespace().subject("ticket.>"),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: last + 1,
            },
            headers_only: true,
            ..Default::default()
        })
        .await?;
    let mut changes = consumer.messages().await?;
    listing.following();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            next = changes.next() => match next {
                Some(Ok(_)) => listing.changed(),
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(()),
            },
        }
    }
}
