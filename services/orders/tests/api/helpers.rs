use std::sync::Arc;
use std::time::Duration;

use common::bson::{Document, doc, oid::ObjectId};
use common::events::{ClosePayment, EventBus, PaymentState, TicketCreated};
use common::settings::HttpSettings;
use common::testkit::{self, MetricsClient, TestClient, eventually, status_and_json};
use mongodb::Database;
use orders::configuration::Settings;
use orders::startup::Application;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The orders service on a random port, with a fresh database and its own NATS namespace.
pub struct TestApp {
    pub api: TestClient,
    /// The service's `GET /metrics`.
    pub metrics: MetricsClient,
    pub db: Database,
    pub bus: EventBus,
}

pub async fn spawn_app() -> TestApp {
    spawn_with_window(Duration::from_secs(900)).await
}

pub async fn spawn_with_window(window: Duration) -> TestApp {
    spawn_with_http(window, testkit::http_settings()).await
}

/// The service with HTTP settings of the test's own (e.g. lower rate limits).
pub async fn spawn_with_http(window: Duration, http: HttpSettings) -> TestApp {
    let bus = testkit::fresh_bus().await;
    let mut service = testkit::event_service_settings("orders", &bus);
    service.base.http = http;
    let settings = Settings {
        service,
        expiration_window: window,
    };
    let app = Application::build(settings.clone())
        .await
        .expect("orders starts");
    let (api, metrics) = testkit::serve_with_metrics(app);
    TestApp {
        api,
        metrics,
        db: common::mongo::connect(&settings.service.base.mongo_url, "orders")
            .await
            .unwrap(),
        bus,
    }
}

impl TestApp {
    /// A ticket announced by the tickets service and now in the local replica.
    pub async fn replicated_ticket(&self, price: f64) -> String {
        let id = ObjectId::new();
        self.bus
            .publish(&TicketCreated {
                id: id.to_hex(),
                version: 0,
                title: format!("ticket {id}"),
                price,
                user_id: ObjectId::new().to_hex(),
            })
            .await
            .unwrap();
        self.replica_at(&id.to_hex(), 0).await;
        id.to_hex()
    }

    /// Waits until the replica of ticket `id` is at `version`.
    /// The seller's price change, as the tickets service announces it.
    pub async fn repriced(&self, id: &str, version: i64, price: f64) {
        self.bus
            .publish(&common::events::TicketUpdated {
                id: id.to_owned(),
                version,
                title: "now pricier".into(),
                price,
                user_id: "seller".into(),
                order_id: None,
            })
            .await
            .unwrap();
    }

    pub async fn stored_orders(&self) -> u64 {
        self.db
            .collection::<Document>("orders")
            .count_documents(doc! {})
            .await
            .unwrap()
    }

    pub async fn replica_at(&self, id: &str, version: i64) -> Document {
        let id = ObjectId::parse_str(id).unwrap();
        let replicas = self.db.collection::<Document>("tickets");
        eventually(&format!("replica at version {version}"), || async {
            let replica = replicas.find_one(doc! { "_id": id }).await.unwrap()?;
            (replica.get_i64("version").ok() == Some(version)).then_some(replica)
        })
        .await
    }

    pub async fn order(&self, ticket_id: &str, cookie: &str) -> (u16, Value) {
        status_and_json(
            self.api
                .post(
                    "/api/orders",
                    &json!({ "ticketId": ticket_id }),
                    Some(cookie),
                )
                .await,
        )
        .await
    }

    pub async fn order_status(&self, id: &str) -> String {
        let order = self
            .db
            .collection::<Document>("orders")
            .find_one(doc! { "_id": ObjectId::parse_str(id).unwrap() })
            .await
            .unwrap()
            .unwrap();
        order.get_str("status").unwrap().to_owned()
    }
}

/// Answers the payments service's side of [`ClosePayment`] on the app's bus, as payments
/// would: `Paid` for the orders in `paid`, `Closed` for any other. The real exchange is covered
/// by the end-to-end tests.
pub async fn payments_answering(bus: &EventBus, paid: Vec<String>) -> CancellationToken {
    let stop = CancellationToken::new();
    bus.answer(
        "payments",
        Arc::new(paid),
        |paid, query: ClosePayment| async move {
            Ok::<_, String>(if paid.contains(&query.order_id) {
                PaymentState::Paid
            } else {
                PaymentState::Closed
            })
        },
        stop.clone(),
    )
    .await
    .expect("subscribed");
    stop
}
