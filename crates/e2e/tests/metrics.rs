//! The fleet's metrics as its Prometheus sees them (`scripts/fleet.sh` starts one scraping every
//! service's `/metrics`): a purchase and an expiry through the gateway move the counters of every
//! service involved. Other end-to-end tests run at the same time and move them too, so each is
//! checked to have grown by at least what this test did.

use std::time::Duration;

use e2e::{Person, SERVICES, gateway, purchase_and_expiry};
use serde_json::{Value, json};

/// How long Prometheus may take to see a change: a few of its 5 s scrapes.
const SCRAPES: Duration = Duration::from_secs(30);

struct Prometheus {
    url: String,
    http: reqwest::Client,
}

impl Prometheus {
    fn of_the_fleet() -> Self {
        let url = e2e::fleet().prometheus_url.expect(
            "the fleet's Prometheus: the fleet runs it when it is installed (scripts/infra.sh install)",
        );
        Self {
            url,
            http: reqwest::Client::new(),
        }
    }

    /// The value of an instant query of one series (0 when it has none yet).
    async fn value(&self, query: &str) -> f64 {
        let answer: Value = self
            .http
            .get(
                reqwest::Url::parse_with_params(
                    &format!("{}/api/v1/query", self.url),
                    [("query", query)],
                )
                .expect("a URL"),
            )
            .send()
            .await
            .expect("Prometheus answers")
            .json()
            .await
            .expect("a JSON answer");
        assert_eq!(answer["status"], "success", "{query}: {answer}");
        let result = answer["data"]["result"].as_array().expect("a vector");
        assert!(result.len() <= 1, "{query}: one series expected: {answer}");
        result
            .first()
            .and_then(|series| series["value"][1].as_str())
            .map_or(0.0, |value| value.parse().expect("a number"))
    }

    /// Waits until every query's value has grown by at least its amount from `before`.
    async fn grown(&self, expected: &[(&str, f64)], before: &[f64]) {
        let deadline = tokio::time::Instant::now() + common::testkit::scaled(SCRAPES);
        loop {
            let mut short = Vec::new();
            for ((query, by), before) in expected.iter().zip(before) {
                let now = self.value(query).await;
                if now < before + by {
                    short.push(format!("{query}: {before} -> {now}, expected +{by}"));
                }
            }
            if short.is_empty() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Prometheus did not see:\n{}",
                short.join("\n")
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn the_gateway_gives_every_request_an_id_the_service_echoes() {
    let api = gateway();
    let path = "/api/users/currentuser";
    let made = api.get(path, None).await;
    let id = made.headers().get("x-request-id").expect("an id is made");
    assert!(!id.is_empty());
    let kept = api
        .request(reqwest::Method::GET, path, None)
        .header("x-request-id", "e2e-request-1")
        .send()
        .await
        .expect("answered");
    assert_eq!(kept.headers()["x-request-id"], "e2e-request-1");
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn prometheus_sees_a_purchase_and_an_expiry_in_every_service() {
    let prometheus = Prometheus::of_the_fleet();
    let expected: &[(&str, f64)] = &[
        ("sum(auth_signups_total)", 3.0),
        ("sum(auth_signins_failed_total)", 1.0),
        (
            r#"sum(http_requests_total{job="auth",route="/api/users/signup",status="201"})"#,
            3.0,
        ),
        ("sum(tickets_created_total)", 2.0),
        (
            r#"sum(consumer_messages_delivered_total{job="tickets",consumer="tickets-order-created"})"#,
            2.0,
        ),
        (r#"sum(orders_total{outcome="created"})"#, 2.0),
        (r#"sum(orders_total{outcome="completed"})"#, 1.0),
        (r#"sum(orders_total{outcome="expired"})"#, 1.0),
        (r#"sum(payments_total{outcome="succeeded"})"#, 1.0),
        ("sum(expirations_scheduled_total)", 2.0),
        ("sum(expirations_fired_total)", 1.0),
        (
            r#"sum(http_requests_total{job="client",route="/",status="200"})"#,
            1.0,
        ),
    ];
    let mut before = Vec::new();
    for (query, _) in expected {
        before.push(prometheus.value(query).await);
    }

    let api = gateway();
    let seller = Person::sign_up(&api).await;
    let buyer = Person::sign_up(&api).await;
    let (status, _) = common::testkit::status_and_json(
        api.post(
            "/api/users/signin",
            &json!({ "email": "nobody@e2e.test", "password": "password" }),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(api.get("/", None).await.status(), 200);

    purchase_and_expiry(&api, &seller, &buyer, "Metrics").await;

    prometheus.grown(expected, &before).await;
    // Every service is scraped and up.
    for job in SERVICES {
        let up = prometheus
            .value(&format!(r#"min(up{{job="{job}"}})"#))
            .await;
        assert_eq!(up, 1.0, "{job} is scraped");
    }
}
