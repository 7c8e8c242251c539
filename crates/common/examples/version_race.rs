//! The version race, replayed: a replica gets `ticket.updated` v2 before v1.
//!
//! ```text
//! scripts/infra.sh start nats && . target/infra/env.sh   # or any nats-server -js
//! cargo run -p common --example version_race
//! ```
//!
//! A service keeps a replica of tickets owned by another service (orders keeps the tickets'
//! prices) and updates it from `ticket.updated` events, each carrying the ticket's new
//! version. Two updates published in quick succession can be stored in the other order, and
//! applying v1 after v2 would leave the replica with the old price for good.
//!
//! The rule: apply an event only if `event.version == local + 1`. An event from the future
//! is `nak`ed with a delay, so JetStream delivers it again later, once the missing one has
//! been applied; an event from the past (a redelivery of one already applied) is acked and
//! skipped. This example publishes v2 then v1 to its own stream `EXAMPLE_RACE` and prints each
//! decision of the consumer; it asserts at the end that the replica reached v2 with v2's
//! price. The stream is deleted at the end.
//!
//! The project does this in `common::events::versioned` (`Applied::classify`,
//! `apply_in_order`), used by the orders service's ticket replica: a gap becomes
//! `HandlerError::Retry`, which `common::events::listener` `nak`s with back-off.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::{
    self, AckKind,
    consumer::{AckPolicy, DeliverPolicy, pull},
    message::PublishMessage,
    stream,
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

const STREAM: &str = "EXAMPLE_RACE";
const SUBJECT: &str = "example.race.ticket.updated";
/// How long JetStream waits before delivering a `nak`ed message again.
const RETRY_DELAY: Duration = Duration::from_millis(500);
const LAST_VERSION: u64 = 2;

#[derive(Debug, Serialize, Deserialize)]
struct TicketUpdated {
    id: String,
    version: u64,
    price: u64,
}

/// The replica: ticket id → (version, price).
type Replica = HashMap<String, (u64, u64)>;

#[tokio::main]
async fn main() -> Result<(), async_nats::Error> {
    let client = connect().await;
    let mut js = jetstream::new(client);
    js.set_timeout(Duration::from_secs(5));
    let stream = js
        .get_or_create_stream(stream::Config {
            name: STREAM.to_owned(),
            subjects: vec![SUBJECT.to_owned()],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|error| {
            format!("cannot create stream {STREAM}: {error} (is JetStream on? nats-server -js)")
        })?;

    let ticket = format!("ticket-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let outcome = race(&js, &stream, &ticket).await;
    js.delete_stream(STREAM).await?;
    println!("stream {STREAM} deleted");

    let replica = outcome?;
    assert_eq!(
        replica[&ticket],
        (LAST_VERSION, 30),
        "the replica should end at the last version, with its price"
    );
    println!("replica reached v{LAST_VERSION} with price 30: in order despite the race");
    Ok(())
}

async fn race(
    js: &jetstream::Context,
    stream: &jetstream::stream::Stream,
    ticket: &str,
) -> Result<Replica, async_nats::Error> {
    // 1. The replica knows the ticket at v0 (from `ticket.created`), price 10.
    let mut replica = Replica::from([(ticket.to_owned(), (0, 10))]);

    // 2. The consumer, one message at a time with explicit acks, as every listener in the
    //    project. `DeliverPolicy::New`: only what is published from now on.
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .create_consumer(pull::Config {
            durable_name: Some(format!("example-race-{ticket}")),
            filter_subject: SUBJECT.to_owned(),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::New,
            ..Default::default()
        })
        .await?;

    // 3. The race: v2 is stored before v1.
    for (version, price) in [(2, 30), (1, 20)] {
        let event = TicketUpdated {
            id: ticket.to_owned(),
            version,
            price,
        };
        let message = PublishMessage::build()
            .payload(serde_json::to_vec(&event)?.into())
            .message_id(format!("{ticket}-v{version}"));
        let ack = js.send_publish(SUBJECT, message).await?.await?;
        println!(
            "published v{version} (price {price}) -> stored as #{}",
            ack.sequence
        );
    }

    // 4. Consume until the replica is up to date, or give up after 10 s.
    let start = Instant::now();
    let deadline = start + Duration::from_secs(10);
    let mut messages = consumer.messages().await?;
    while replica[ticket].0 < LAST_VERSION {
        let Ok(next) = tokio::time::timeout_at(deadline, messages.next()).await else {
            println!("gave up after 10 s");
            break;
        };
        let Some(message) = next else { break };
        let message = message?;
        let delivered = message.info()?.delivered;
        let event: TicketUpdated = serde_json::from_slice(&message.payload)?;
        let Some(&(local, _)) = replica.get(&event.id) else {
            message.ack().await?; // not a ticket this replica knows (another run's)
            continue;
        };
        let elapsed = start.elapsed().as_millis();
        let decision = if event.version == local + 1 {
            // The next version: apply it, then ack.
            replica.insert(event.id, (event.version, event.price));
            message.ack().await?;
            format!("apply (price {}), ack", event.price)
        } else if event.version <= local {
            // Already applied (a redelivery): nothing to do but ack.
            message.ack().await?;
            "already applied: ack, skip".to_owned()
        } else {
            // From the future: v{local + 1} is missing. Hand it back to JetStream, to be
            // delivered again after RETRY_DELAY; meanwhile the next message comes.
            message.ack_with(AckKind::Nak(Some(RETRY_DELAY))).await?;
            format!(
                "out of order, v{} missing: nak, redeliver in {} ms",
                local + 1,
                RETRY_DELAY.as_millis()
            )
        };
        println!(
            "[{elapsed:>4} ms] v{} (delivery {delivered}), replica at v{local} -> {decision}",
            event.version
        );
    }
    Ok(replica)
}

/// Connects to `NATS_URL`, or exits with a clear message if NATS does not answer within a few
/// seconds.
async fn connect() -> async_nats::Client {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let connecting = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(3))
        .connect(url.as_str());
    match tokio::time::timeout(Duration::from_secs(5), connecting).await {
        Ok(Ok(client)) => {
            println!("connected to {url}");
            client
        }
        Ok(Err(error)) => exit_unreachable(&url, &error.to_string()),
        Err(_) => exit_unreachable(&url, "no answer within 5 s"),
    }
}

fn exit_unreachable(url: &str, reason: &str) -> ! {
    eprintln!("error: cannot reach NATS at {url}: {reason}");
    eprintln!(
        "start one with `scripts/infra.sh start nats && . target/infra/env.sh`, or set NATS_URL"
    );
    std::process::exit(1)
}
