use std::time::Duration;

use chrono::{DateTime, Utc};
use common::bson::oid::ObjectId;
use common::events::{EventBus, OrderCreated, OrderStatus, OrderTicket, Subject};
use common::metrics::{EXPIRATIONS_FIRED, EXPIRATIONS_SCHEDULED};
use common::testkit::{
    self, MetricsClient, eventually, status_and_json, stored_events, wait_for_events,
};
use expiration::configuration::Settings;
use expiration::startup::Application;
use futures::StreamExt;
use tokio::sync::oneshot;

struct Running {
    port: u16,
    metrics: MetricsClient,
    stop: oneshot::Sender<()>,
    stopped: tokio::task::JoinHandle<()>,
}

async fn start(bus: &EventBus) -> Running {
    let settings = Settings {
        port: 0,
        metrics_port: Some(0),
        redis_url: testkit::redis_url(),
        events: testkit::event_settings(bus),
    };
    let app = Application::build(settings)
        .await
        .expect("expiration starts");
    let port = app.port();
    let metrics = MetricsClient::of(&app);
    let (stop, stopping) = oneshot::channel::<()>();
    let stopped = tokio::spawn(async move {
        app.run_until_stopped(async move {
            let _ = stopping.await;
        })
        .await
        .unwrap();
    });
    Running {
        port,
        metrics,
        stop,
        stopped,
    }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.stopped.await.unwrap();
    }
}

fn order_expiring_at(expires_at: DateTime<Utc>) -> OrderCreated {
    OrderCreated {
        id: ObjectId::new().to_hex(),
        version: 0,
        status: OrderStatus::Created,
        user_id: ObjectId::new().to_hex(),
        expires_at,
        ticket: OrderTicket {
            id: ObjectId::new().to_hex(),
            price: 10.0,
            version: 0,
        },
    }
}

/// Waits until the order's expiry is stored in Redis.
async fn scheduled(bus: &EventBus) {
    let key = format!("{}:expiration:orders:scheduled", bus.namespace().prefix());
    let client = redis::Client::open(testkit::redis_url()).unwrap();
    let redis = client.get_multiplexed_async_connection().await.unwrap();
    eventually("the expiry to be scheduled", || {
        let key = key.clone();
        let mut redis = redis.clone();
        async move {
            let count: i64 = redis::cmd("ZCARD")
                .arg(&key)
                .query_async(&mut redis)
                .await
                .unwrap();
            (count > 0).then_some(())
        }
    })
    .await;
    drop(redis);
}

#[tokio::test]
async fn an_order_expires_when_its_time_is_up_not_before() {
    let bus = testkit::fresh_bus().await;
    let app = start(&bus).await;
    let expires_at = Utc::now() + chrono::Duration::seconds(2);
    let order = order_expiring_at(expires_at);
    bus.publish(&order).await.unwrap();
    scheduled(&bus).await;
    assert!(
        stored_events(&bus, Subject::ExpirationComplete)
            .await
            .is_empty(),
        "not before its time"
    );
    assert!(app.metrics.value(EXPIRATIONS_SCHEDULED, &[]).await >= 1.0);
    assert_eq!(app.metrics.value(EXPIRATIONS_FIRED, &[]).await, 0.0);
    let events = wait_for_events(&bus, Subject::ExpirationComplete, 1).await;
    let announced_at = Utc::now();
    app.metrics.reaches(EXPIRATIONS_FIRED, &[], 1.0).await;
    assert_eq!(
        events[0].payload,
        serde_json::json!({ "orderId": order.id })
    );
    assert!(announced_at >= expires_at, "announced early");
    assert!(
        announced_at - expires_at < chrono::Duration::milliseconds(2500),
        "announced late: {}",
        announced_at - expires_at
    );
    // A redelivered order.created schedules nothing new.
    let raw = serde_json::to_vec(&order).unwrap();
    bus.publish_raw("order.created", "redelivery", raw.into())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        stored_events(&bus, Subject::ExpirationComplete).await.len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn a_scheduled_expiration_survives_a_restart() {
    let bus = testkit::fresh_bus().await;
    let first = start(&bus).await;
    let expires_at = Utc::now() + chrono::Duration::seconds(3);
    let order = order_expiring_at(expires_at);
    bus.publish(&order).await.unwrap();
    scheduled(&bus).await;
    first.stop().await;

    let second = start(&bus).await;
    let events = wait_for_events(&bus, Subject::ExpirationComplete, 1).await;
    assert_eq!(events[0].payload["orderId"], order.id.as_str());
    assert!(Utc::now() >= expires_at);
    assert!(Utc::now() - expires_at < chrono::Duration::milliseconds(2500));
    second.stop().await;
}

#[tokio::test]
async fn health_endpoints_report_redis_and_nats() {
    let bus = testkit::fresh_bus().await;
    let app = start(&bus).await;
    let client = testkit::TestClient::new(format!("http://127.0.0.1:{}", app.port));
    // Ready once its NATS connection (made in the background) is up.
    let body = eventually("readiness", || async {
        let (status, body) = status_and_json(client.get("/readyz", None).await).await;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(body["status"], "ready");
    assert_eq!(client.get("/healthz", None).await.status(), 200);
    assert_eq!(client.get("/api/anything", None).await.status(), 404);
    app.stop().await;
}

#[test]
fn expiration_refuses_to_start_without_its_settings() {
    let bin = env!("CARGO_BIN_EXE_expiration");
    testkit::assert_refuses_to_start(bin, &[("NATS_URL", "nats://127.0.0.1:1")], "REDIS_URL");
    testkit::assert_refuses_to_start(bin, &[("REDIS_URL", "redis://127.0.0.1:1")], "NATS_URL");
    testkit::assert_refuses_to_start(
        bin,
        &[
            ("REDIS_URL", "not a url"),
            ("NATS_URL", "nats://127.0.0.1:1"),
        ],
        "REDIS_URL",
    );
}

/// Two instances share the queue and the `order.created` consumer: every order is scheduled and
/// fired once, by one of them. Counted on a core NATS subscription, which sees every publish
/// (the stream would drop a second one by its message id and hide it).
#[tokio::test]
async fn two_instances_fire_each_expiry_once() {
    const ORDERS: usize = 20;
    let bus = testkit::fresh_bus().await;
    let mut fired = bus
        .client()
        .subscribe(
            bus.namespace()
                .subject(Subject::ExpirationComplete.as_str()),
        )
        .await
        .unwrap();
    let instances = [start(&bus).await, start(&bus).await];
    let expires_at = Utc::now() + chrono::Duration::seconds(2);
    let mut ids = Vec::new();
    for _ in 0..ORDERS {
        let order = order_expiring_at(expires_at);
        ids.push(order.id.clone());
        bus.publish(&order).await.unwrap();
    }
    let mut seen: Vec<String> = Vec::new();
    // Every expiry, then a quiet while in which a second firing would show.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, fired.next()).await {
        let event: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
        seen.push(event["orderId"].as_str().unwrap().to_owned());
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids, "each order's expiry published exactly once");
    for instance in instances {
        instance.stop().await;
    }
}
