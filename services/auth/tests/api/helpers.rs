use auth::configuration::Settings;
use auth::startup::Application;
use common::rate_limit::RateLimitSettings;
use common::testkit::{self, MetricsClient, TestClient};
use mongodb::Database;
use serde_json::{Value, json};

/// The auth service running on a random port against a fresh database of the shared server.
pub struct TestApp {
    pub api: TestClient,
    /// The service's `GET /metrics`.
    pub metrics: MetricsClient,
    pub db: Database,
    settings: Settings,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_limits(RateLimitSettings::default()).await
}

pub async fn spawn_app_with_limits(rate_limits: RateLimitSettings) -> TestApp {
    let bus = testkit::fresh_bus().await;
    let mut service = testkit::service_settings("auth", &bus);
    service.http.rate_limits = rate_limits;
    let settings = Settings {
        service,
        password_hashes_in_parallel: std::num::NonZeroUsize::new(2).unwrap(),
    };
    let app = Application::build(settings.clone())
        .await
        .expect("auth starts");
    let (api, metrics) = testkit::serve_with_metrics(app);
    TestApp {
        api,
        metrics,
        db: common::mongo::connect(&settings.service.mongo_url, "auth")
            .await
            .unwrap(),
        settings,
    }
}

impl TestApp {
    /// Another instance on the same database and NATS namespace (a second replica).
    pub async fn twin(&self) -> TestClient {
        let app = Application::build(self.settings.clone())
            .await
            .expect("auth starts");
        testkit::serve(app)
    }

    pub async fn signup(&self, email: &str, password: &str) -> reqwest::Response {
        self.api
            .post(
                "/api/users/signup",
                &json!({ "email": email, "password": password }),
                None,
            )
            .await
    }

    pub async fn signin(&self, body: Value) -> reqwest::Response {
        self.api.post("/api/users/signin", &body, None).await
    }
}

/// The `session=...` pair a response sets.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    set_cookie(response).map(|value| testkit::cookie_pair(&value))
}

pub fn set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .map(|value| value.to_str().unwrap().to_owned())
}
