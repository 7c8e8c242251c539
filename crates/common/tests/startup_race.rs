//! Several instances of a service start at once (a rollout, a scale-up): each prepares the same
//! collections and indexes and creates the same streams and consumers at the same moment, on
//! the real test servers. None of them may fail for it, and the result is what one would make.

use bson::doc;
use common::events::{EventBus, StreamName};
use common::mongo::{CollectionSchema, connect, prepare, unique_index};
use common::testkit::{fresh_mongo_url, nats_url, unique_name};
use futures::future::join_all;

/// How many instances start together.
const INSTANCES: usize = 4;

fn schema() -> Vec<CollectionSchema> {
    vec![
        CollectionSchema::new("tickets").index(unique_index(
            doc! { "title": 1 },
            "one_title",
            false,
        )),
        CollectionSchema::new("orders")
            .index(unique_index(
                doc! { "ticketId": 1 },
                "one_order_per_ticket",
                true,
            ))
            .with_outbox(),
    ]
}

#[tokio::test]
async fn instances_preparing_the_same_schema_at_once_all_succeed() {
    let url = fresh_mongo_url("startup_race");
    let mut dbs = Vec::new();
    for _ in 0..INSTANCES {
        dbs.push(
            connect(&url, "startup_race")
                .await
                .expect("MongoDB URL usable"),
        );
    }
    let schema = schema();
    let results = join_all(dbs.iter().map(|db| prepare(db, &schema))).await;
    for (instance, result) in results.iter().enumerate() {
        assert!(result.is_ok(), "instance {instance}: {result:?}");
    }
    let db = &dbs[0];
    let mut collections = db.list_collection_names().await.unwrap();
    collections.sort();
    assert_eq!(collections, ["orders", "tickets"]);
    let indexes = db
        .collection::<bson::Document>("orders")
        .list_index_names()
        .await
        .unwrap();
    assert_eq!(
        indexes
            .iter()
            .filter(|name| *name == "one_order_per_ticket")
            .count(),
        1,
        "{indexes:?}"
    );
    // The unique index holds: the rule it makes atomic is in force.
    let orders = db.collection::<bson::Document>("orders");
    orders.insert_one(doc! { "ticketId": "t1" }).await.unwrap();
    assert!(orders.insert_one(doc! { "ticketId": "t1" }).await.is_err());
    db.drop().await.unwrap();
}

#[tokio::test]
async fn instances_creating_the_same_streams_and_consumers_at_once_all_succeed() {
    let namespace = unique_name("startup_race");
    let mut buses = Vec::new();
    for _ in 0..INSTANCES {
        buses.push(
            EventBus::connect(
                &nats_url(),
                common::events::Namespace::new(namespace.clone()),
            )
            .await
            .expect("NATS reachable"),
        );
    }
    let results = join_all(buses.iter().map(|bus| bus.ensure_streams())).await;
    for (instance, result) in results.iter().enumerate() {
        assert!(result.is_ok(), "instance {instance}: {result:?}");
    }
    // The durable consumer every instance of a service shares, created by all of them at once.
    let bus = &buses[0];
    let stream_name = bus.namespace().stream(StreamName::Tickets.as_str());
    let consumers = join_all(buses.iter().map(|bus| {
        let stream_name = stream_name.clone();
        async move {
            let stream = bus.jetstream().get_stream(&stream_name).await?;
            stream
                .get_or_create_consumer(
                    "orders-ticket-created",
                    async_nats::jetstream::consumer::pull::Config {
                        durable_name: Some("orders-ticket-created".to_owned()),
                        ..Default::default()
                    },
                )
                .await
                .map(drop)
                .map_err(anyhow::Error::from)
        }
    }))
    .await;
    for (instance, result) in consumers.iter().enumerate() {
        assert!(result.is_ok(), "instance {instance}: {result:?}");
    }
    let mut stream = bus.jetstream().get_stream(&stream_name).await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.consumer_count, 1);
    for name in StreamName::ALL
        .iter()
        .map(|name| name.as_str())
        .chain(["DEADLETTER"])
    {
        bus.jetstream()
            .delete_stream(bus.namespace().stream(name))
            .await
            .unwrap();
    }
}
