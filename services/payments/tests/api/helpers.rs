use chrono::Utc;
use common::bson::{Document, doc, oid::ObjectId};
use common::events::{EventBus, OrderConfirmed, OrderCreated, OrderStatus, OrderTicket, TicketRef};
use common::settings::HttpSettings;
use common::testkit::{self, MetricsClient, TestClient, eventually, status_and_json};
use mongodb::Database;
use payments::configuration::Settings;
use payments::startup::Application;
use serde_json::{Value, json};

/// The payments service on a random port, with a fresh database and its own NATS namespace,
/// charging through the shared Stripe mock.
pub struct TestApp {
    pub api: TestClient,
    /// The service's `GET /metrics`.
    pub metrics: MetricsClient,
    pub db: Database,
    pub bus: EventBus,
    pub stripe_key: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_with_http(testkit::http_settings()).await
}

/// The service with HTTP settings of the test's own (e.g. lower rate limits).
pub async fn spawn_with_http(http: HttpSettings) -> TestApp {
    let bus = testkit::fresh_bus().await;
    let stripe_key = testkit::unique_name("sk_test");
    let mut service = testkit::event_service_settings("payments", &bus);
    service.base.http = http;
    let settings = Settings {
        service,
        stripe_key: stripe_key.clone().into(),
        stripe_api_base: Some(testkit::stripe_api_base()),
    };
    let app = Application::build(settings.clone())
        .await
        .expect("payments starts");
    let (api, metrics) = testkit::serve_with_metrics(app);
    TestApp {
        api,
        metrics,
        db: common::mongo::connect(&settings.service.base.mongo_url, "payments")
            .await
            .unwrap(),
        bus,
        stripe_key,
    }
}

pub fn order_event(id: &str, user: ObjectId, price: f64) -> OrderCreated {
    OrderCreated {
        id: id.to_owned(),
        version: 0,
        status: OrderStatus::Created,
        user_id: user.to_hex(),
        expires_at: Utc::now() + chrono::Duration::minutes(15),
        ticket: OrderTicket {
            id: ObjectId::new().to_hex(),
            price,
            version: 0,
        },
    }
}

/// The tickets service's confirmation of `order`'s reservation, as the orders service announces it.
pub fn confirmation_of(order: &OrderCreated) -> OrderConfirmed {
    OrderConfirmed {
        id: order.id.clone(),
        version: order.version + 1,
        ticket: TicketRef {
            id: order.ticket.id.clone(),
        },
    }
}

impl TestApp {
    /// An order announced by the orders service, its reservation confirmed, and now in the
    /// local replica awaiting payment.
    pub async fn replicated_order(&self, user: ObjectId, price: f64) -> String {
        let id = ObjectId::new().to_hex();
        let order = order_event(&id, user, price);
        self.bus.publish(&order).await.unwrap();
        self.bus.publish(&confirmation_of(&order)).await.unwrap();
        self.replica_where(&id, |replica| {
            replica.get_str("status") == Ok(OrderStatus::AwaitingPayment.as_str())
        })
        .await;
        id
    }

    pub async fn replica_where(&self, id: &str, test: impl Fn(&Document) -> bool) -> Document {
        let id = ObjectId::parse_str(id).unwrap();
        let replicas = self.db.collection::<Document>("orders");
        eventually("the order replica", || async {
            replicas
                .find_one(doc! { "_id": id })
                .await
                .unwrap()
                .filter(&test)
        })
        .await
    }

    /// The payment stored for an order.
    pub async fn payment_of(&self, order_id: &str) -> Option<Document> {
        self.db
            .collection::<Document>("payments")
            .find_one(doc! { "orderId": order_id })
            .await
            .unwrap()
    }

    pub async fn pay(&self, order_id: &str, token: &str, cookie: &str) -> (u16, Value) {
        status_and_json(
            self.api
                .post(
                    "/api/payments",
                    &json!({ "orderId": order_id, "token": token }),
                    Some(cookie),
                )
                .await,
        )
        .await
    }

    /// The successful charges the Stripe mock holds for `order_ids` (found by their metadata;
    /// the mock shares one account between tests).
    pub async fn charges_for(&self, order_ids: &[&str]) -> Vec<Value> {
        let response = reqwest::Client::new()
            .get(format!(
                "{}/v1/charges?limit=100",
                testkit::stripe_api_base().trim_end_matches('/')
            ))
            .bearer_auth(&self.stripe_key)
            .send()
            .await
            .unwrap();
        let list: Value = response.json().await.unwrap();
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|charge| charge["status"] == "succeeded")
            .filter(|charge| {
                order_ids
                    .iter()
                    .any(|id| charge["metadata"]["orderId"] == *id)
            })
            .cloned()
            .collect()
    }
}
