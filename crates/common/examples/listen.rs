//! A durable pull consumer with explicit acknowledgement, that stops on its own.
//!
//! ```text
//! scripts/infra.sh start nats && . target/infra/env.sh   # or any nats-server -js
//! cargo run -p common --example listen            # stops when idle for 3 s
//! cargo run -p common --example listen -- 2       # stops after 2 messages
//! ```
//!
//! Connects to `NATS_URL` (default `nats://127.0.0.1:4222`), creates the stream
//! `EXAMPLE_TICKETS` (as the `publish` example does) and a durable pull consumer of
//! `example.ticket.created`, starts a small publisher in the background (three events), and
//! handles the messages one at a time: print the payload, then `ack` it. The loop ends after N
//! messages (first argument, default 10) or when no message came for 3 s, so it never hangs.
//! The consumer and the stream are deleted at the end.
//!
//! The project does this in `common::events::listener` (`EventBus::listen`), with retries and
//! a dead-letter stream on top.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{AckPolicy, DeliverPolicy, pull},
    message::PublishMessage,
    stream,
};
use futures::StreamExt;

const STREAM: &str = "EXAMPLE_TICKETS";
const SUBJECT: &str = "example.ticket.created";
/// How long the loop waits for the next message before it concludes there is no more work.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> Result<(), async_nats::Error> {
    let max_messages: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|_| format!("not a count: {arg}"))?,
        None => 10,
    };
    let client = connect().await;
    let mut js = jetstream::new(client);
    js.set_timeout(Duration::from_secs(5));

    let stream = js
        .get_or_create_stream(stream::Config {
            name: STREAM.to_owned(),
            subjects: vec!["example.ticket.>".to_owned()],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|error| {
            format!("cannot create stream {STREAM}: {error} (is JetStream on? nats-server -js)")
        })?;

    // 1. A durable consumer: the server keeps its position (what was delivered and acked)
    //    under this name, so a restarted listener continues where the last one stopped. One
    //    per service and subject in the project (`orders-ticket-created`); a unique name here.
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let durable = format!("example-listener-{run}");
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .create_consumer(pull::Config {
            durable_name: Some(durable.clone()),
            filter_subject: SUBJECT.to_owned(),
            // Each message must be acknowledged on its own; unacknowledged ones come back
            // after `ack_wait`.
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_secs(10),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await?;
    println!("durable consumer {durable} on {SUBJECT} (explicit acks)");

    // 2. Someone publishes meanwhile: three events, 300 ms apart.
    let publisher = tokio::spawn({
        let (js, run) = (js.clone(), run.clone());
        async move {
            for n in 1..=3 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let payload = serde_json::json!({ "id": format!("{run}-{n}"), "price": 10 * n });
                let message = PublishMessage::build()
                    .payload(payload.to_string().into())
                    .message_id(format!("ticket-{run}-{n}-created"));
                js.send_publish(SUBJECT, message).await?.await?;
            }
            Ok::<_, async_nats::Error>(())
        }
    });

    let outcome = consume(&consumer, max_messages).await;
    let published = publisher.await;

    // 3. The server tracked the consumer's progress: a listener started with the same durable
    //    name would get only what is still pending.
    if let Ok(info) = consumer.get_info().await {
        println!(
            "consumer state: {} delivered, {} still pending, {} awaiting ack",
            info.delivered.consumer_sequence, info.num_pending, info.num_ack_pending
        );
    }

    stream.delete_consumer(&durable).await?;
    js.delete_stream(STREAM).await?;
    println!("consumer and stream {STREAM} deleted");
    outcome.and(published?)
}

/// Handles messages one at a time until `max_messages` were handled or none came for
/// [`IDLE_TIMEOUT`].
async fn consume(
    consumer: &jetstream::consumer::Consumer<pull::Config>,
    max_messages: usize,
) -> Result<(), async_nats::Error> {
    // `messages()` keeps pull requests open in the background and yields messages as they are
    // stored; it never ends by itself, hence the timeout around `next()`.
    let mut messages = consumer.messages().await?;
    let mut handled = 0;
    while handled < max_messages {
        let message = match tokio::time::timeout(IDLE_TIMEOUT, messages.next()).await {
            Ok(Some(message)) => message?,
            Ok(None) => break,
            Err(_) => {
                println!("no message for {} s: stopping", IDLE_TIMEOUT.as_secs());
                return Ok(());
            }
        };
        let info = message.info()?;
        println!(
            "received #{} (delivery {}): {}",
            info.stream_sequence,
            info.delivered,
            String::from_utf8_lossy(&message.payload)
        );
        // Acknowledge only once the work is done: a crash before this line means redelivery.
        message.ack().await?;
        handled += 1;
    }
    println!("handled {handled} messages: stopping");
    Ok(())
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
