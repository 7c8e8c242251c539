use std::future::Future;

use axum::Router;
use axum::extract::FromRef;
use common::Sessions;
use common::http::{Readiness, bind, serve};
use tokio::net::TcpListener;

use crate::configuration::Settings;
use crate::models::user::Users;
use crate::routes;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub sessions: Sessions,
    pub users: Users,
}

pub struct Application {
    listener: TcpListener,
    port: u16,
    router: Router,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("MONGO_URL is unusable: {0}")]
    Mongo(#[from] mongodb::error::Error),
    #[error("cannot listen on the port: {0}")]
    Bind(#[from] std::io::Error),
}

impl Application {
    /// Connects, prepares the database and binds the port (0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let db = common::mongo::connect(&settings.mongo_url, "auth").await?;
        let users = Users::new(&db);
        // Best effort: a database that is down now must not stop start-up; the first
        // sign-up retries before writing.
        if let Err(error) = users.ensure_indexes().await {
            tracing::warn!(%error, "users index not created yet");
        }
        let state = AppState {
            sessions: Sessions::new(&settings.http.jwt_key, settings.http.cookie_secure),
            users,
        };
        let router = common::http::app(routes::router(state), Readiness::new().mongo(db));
        let (listener, address) = bind(settings.http.port).await?;
        tracing::info!(%address, "auth listening");
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
