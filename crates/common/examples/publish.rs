//! Publishing to JetStream with message ids: the stream drops a re-published duplicate.
//!
//! ```text
//! scripts/infra.sh start nats && . target/infra/env.sh   # or any nats-server -js
//! cargo run -p common --example publish
//! ```
//!
//! Connects to `NATS_URL` (default `nats://127.0.0.1:4222`), creates the stream
//! `EXAMPLE_TICKETS` (subjects `example.ticket.>`, file storage, a 2-minute duplicate window),
//! publishes three `example.ticket.created` events, each with a `Nats-Msg-Id` header, then
//! publishes the first one again: the stream acknowledges it as a duplicate and does not store
//! it a second time. This is what lets a service retry a publish (after a timeout, a crash,
//! an outbox relay restart) without creating the event twice. The stream is deleted at the end.
//!
//! The project does this in `common::events::bus` (`EventBus::publish_raw`).

use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage, stream};
use serde_json::json;

const STREAM: &str = "EXAMPLE_TICKETS";
const SUBJECT: &str = "example.ticket.created";

#[tokio::main]
async fn main() -> Result<(), async_nats::Error> {
    let client = connect().await;
    let mut js = jetstream::new(client);
    // Every JetStream request (stream info, publish ack, ...) gives up after 5 s.
    js.set_timeout(Duration::from_secs(5));

    // 1. The stream stores whatever is published on its subjects. `duplicate_window` is how
    //    long it remembers the `Nats-Msg-Id` of each stored message.
    js.get_or_create_stream(stream::Config {
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
    println!("stream {STREAM} ready (subjects example.ticket.>, duplicate window 2 min)");

    // Run the demo, then delete the stream whatever happened, so runs do not pile up.
    let outcome = demo(&js).await;
    js.delete_stream(STREAM).await?;
    println!("stream {STREAM} deleted");
    outcome
}

async fn demo(js: &jetstream::Context) -> Result<(), async_nats::Error> {
    // Ids unique to this run, so an earlier run's ids (still in the window) do not interfere.
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];

    // 2. Publish three events. The message id is derived from the event (ticket id + what
    //    happened), not random per attempt: a retry of the same event carries the same id.
    for (n, (title, price)) in [("concert", 20), ("match", 35), ("opera", 80)]
        .into_iter()
        .enumerate()
    {
        let id = format!("{run}-{n}");
        let event = json!({ "id": id, "title": title, "price": price, "version": 0 });
        let ack = publish(js, &format!("ticket-{id}-created"), &event).await?;
        println!(
            "published {event} -> stored as {}#{} (duplicate: {})",
            ack.stream, ack.sequence, ack.duplicate
        );
    }

    // 3. Publish the first event again, as a retry would. JetStream answers with the sequence
    //    of the copy it already has and `duplicate: true`; nothing new is stored.
    let event = json!({ "id": format!("{run}-0"), "title": "concert", "price": 20, "version": 0 });
    let ack = publish(js, &format!("ticket-{run}-0-created"), &event).await?;
    println!(
        "published the first event again -> {}#{} (duplicate: {})",
        ack.stream, ack.sequence, ack.duplicate
    );
    assert!(
        ack.duplicate,
        "the stream should have dropped the re-publish"
    );

    let info = js.get_stream(STREAM).await?.get_info().await?;
    println!(
        "the stream holds {} messages: the duplicate was not stored",
        info.state.messages
    );
    Ok(())
}

/// Publishes `event` as JSON with `Nats-Msg-Id: message_id` and waits for the stream's ack.
async fn publish(
    js: &jetstream::Context,
    message_id: &str,
    event: &serde_json::Value,
) -> Result<jetstream::publish::PublishAck, async_nats::Error> {
    let message = PublishMessage::build()
        .payload(serde_json::to_vec(event)?.into())
        .message_id(message_id);
    // `send_publish` returns once the message is sent; awaiting the returned future waits for
    // the stream's acknowledgement (stored, or recognised as a duplicate).
    let ack = js.send_publish(SUBJECT, message).await?.await?;
    Ok(ack)
}

/// Connects to `NATS_URL`, or exits with a clear message if NATS does not answer within a few
/// seconds (by default a client would otherwise keep waiting or retrying).
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
