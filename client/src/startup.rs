use std::future::Future;

use axum::Router;
use axum::extract::FromRef;
use common::http::{Readiness, bind, serve};
use tokio::net::TcpListener;

use crate::api::Api;
use crate::configuration::Settings;
use crate::routes;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub api: Api,
    pub payments: Payments,
}

/// How the payment page takes cards.
#[derive(Clone, Debug, Default)]
pub struct Payments {
    pub stripe_publishable_key: Option<String>,
}

pub struct Application {
    listener: TcpListener,
    port: u16,
    router: Router,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("API_URL/API_HOST are unusable: {0}")]
    Api(String),
    #[error("cannot listen on the port: {0}")]
    Bind(#[from] std::io::Error),
}

impl Application {
    /// Binds the port (0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let api =
            Api::new(&settings.api_url, settings.api_host.as_deref()).map_err(StartupError::Api)?;
        let state = AppState {
            api,
            payments: Payments {
                stripe_publishable_key: settings.stripe_publishable_key,
            },
        };
        // No readiness checks: the API is reached through the ingress that also routes to this
        // service, and an API outage is better told on a friendly page than by vanishing.
        let router = common::http::app(routes::router(state), Readiness::new());
        let (listener, address) = bind(settings.port).await?;
        tracing::info!(%address, api = %settings.api_url, "client listening");
        Ok(Self {
            listener,
            port: address.port(),
            router,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        serve(self.listener, self.router, shutdown).await
    }
}
