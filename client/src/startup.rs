use common::http::Readiness;
use common::service::{Ports, Server, StartupError};
use common::tasks::BackgroundTasks;

use crate::api::Api;
use crate::configuration::Settings;
use crate::routes;
use crate::state::{AppState, CardEntry};

pub struct Application;

impl Application {
    /// Binds the port (0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let api = Api::new(&settings.api_url, settings.api_host.as_deref()).map_err(|error| {
            StartupError::Other(format!("API_URL/API_HOST are unusable: {error}"))
        })?;
        let state = AppState {
            api,
            card_entry: CardEntry {
                stripe_publishable_key: settings.stripe_publishable_key,
            },
        };
        tracing::info!(api = %settings.api_url, "client calls the API through the gateway");
        // No readiness checks: the API is reached through the ingress that also routes to this
        // service, and an API outage is better told on a friendly page than by vanishing.
        Server::bind(
            "client",
            Ports {
                http: settings.port,
                metrics: settings.metrics_port,
            },
            routes::router(state),
            Readiness::new(),
            BackgroundTasks::new(),
        )
        .await
    }
}
