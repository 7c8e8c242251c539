//! Streams are created with the number of copies `NATS_STREAM_REPLICAS` asks for, on the real
//! test server (a single JetStream server, so only one copy can be kept there).

use common::events::bus::{DEAD_LETTER_STREAM, DUPLICATE_WINDOW};
use common::events::{EventBus, Namespace, StreamName};
use common::testkit::{nats_url, unique_name};

async fn bus(replicas: usize) -> EventBus {
    EventBus::connect(&nats_url(), Namespace::new(unique_name("streams")))
        .await
        .expect("NATS reachable")
        .with_stream_replicas(replicas)
}

fn stream_names(bus: &EventBus) -> Vec<String> {
    StreamName::ALL
        .iter()
        .map(|name| name.as_str())
        .chain([DEAD_LETTER_STREAM])
        .map(|name| bus.namespace().stream(name))
        .collect()
}

#[tokio::test]
async fn streams_keep_the_configured_number_of_copies() {
    let bus = bus(1).await;
    bus.ensure_streams().await.expect("streams created");
    for name in stream_names(&bus) {
        let mut stream = bus
            .jetstream()
            .get_stream(&name)
            .await
            .expect("stream exists");
        let config = &stream.info().await.expect("stream info").config;
        assert_eq!(config.num_replicas, 1, "{name}");
        assert_eq!(config.duplicate_window, DUPLICATE_WINDOW, "{name}");
        bus.jetstream()
            .delete_stream(&name)
            .await
            .expect("stream deleted");
    }
}

#[tokio::test]
async fn more_copies_than_servers_is_refused_at_stream_creation() {
    let bus = bus(3).await;
    let error = bus
        .ensure_streams()
        .await
        .expect_err("one JetStream server cannot keep three copies")
        .to_string();
    assert!(error.contains("stream set-up failed"), "{error}");
    for name in stream_names(&bus) {
        assert!(
            bus.jetstream().get_stream(&name).await.is_err(),
            "{name} must not exist with fewer copies than asked for"
        );
    }
}
