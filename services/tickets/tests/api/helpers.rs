use common::bson::oid::ObjectId;
use common::events::EventBus;
use common::testkit::{self, MetricsClient, TestClient, status_and_json};
use mongodb::Database;
use serde_json::{Value, json};
use tickets::configuration::Settings;
use tickets::startup::Application;

/// The tickets service on a random port, with a fresh database and its own NATS namespace.
pub struct TestApp {
    pub api: TestClient,
    /// The service's `GET /metrics`.
    pub metrics: MetricsClient,
    pub db: Database,
    pub bus: EventBus,
    pub settings: Settings,
}

pub async fn spawn_app() -> TestApp {
    let bus = testkit::fresh_bus().await;
    let settings = testkit::event_service_settings("tickets", &bus);
    spawn_with(settings, bus).await
}

pub async fn spawn_with(settings: Settings, bus: EventBus) -> TestApp {
    let app = Application::build(settings.clone())
        .await
        .expect("tickets starts");
    let (api, metrics) = testkit::serve_with_metrics(app);
    TestApp {
        api,
        metrics,
        db: common::mongo::connect(&settings.base.mongo_url, "tickets")
            .await
            .unwrap(),
        bus,
        settings,
    }
}

impl TestApp {
    /// Lists a ticket as a new seller; returns the seller's cookie and the ticket.
    pub async fn listed_ticket(&self, title: &str, price: f64) -> (String, Value) {
        let (_, cookie) = testkit::signed_in();
        let (status, ticket) = status_and_json(
            self.api
                .post(
                    "/api/tickets",
                    &json!({ "title": title, "price": price }),
                    Some(&cookie),
                )
                .await,
        )
        .await;
        assert_eq!(status, 201, "{ticket}");
        (cookie, ticket)
    }

    pub async fn ticket(&self, id: &str) -> Value {
        let (status, ticket) =
            status_and_json(self.api.get(&format!("/api/tickets/{id}"), None).await).await;
        assert_eq!(status, 200);
        ticket
    }
}

pub fn new_id() -> String {
    ObjectId::new().to_hex()
}
