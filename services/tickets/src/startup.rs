use std::future::Future;

use axum::Router;
use axum::extract::FromRef;
use common::Sessions;
use common::events::{EventBus, Namespace, OutboxRelay};
use common::http::{Readiness, bind, serve};
use common::tasks::BackgroundTasks;
use tokio::net::TcpListener;

use crate::configuration::Settings;
use crate::events::listeners;
use crate::models::ticket::Tickets;
use crate::routes;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub sessions: Sessions,
    pub tickets: Tickets,
}

pub struct Application {
    listener: TcpListener,
    port: u16,
    router: Router,
    background: BackgroundTasks,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("MONGO_URL is unusable: {0}")]
    Mongo(#[from] mongodb::error::Error),
    #[error("NATS_URL is unusable: {0}")]
    Nats(#[from] common::events::BusError),
    #[error("cannot listen on the port: {0}")]
    Bind(#[from] std::io::Error),
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let db = common::mongo::connect(&settings.mongo_url, "tickets").await?;
        let bus = EventBus::connect(
            &settings.events.nats_url,
            Namespace::new(settings.events.namespace.clone()),
        )
        .await?;
        let mut background = BackgroundTasks::new();
        let relay = OutboxRelay::new(bus.clone(), vec![db.collection(Tickets::COLLECTION)]);
        let tickets = Tickets::new(&db, relay.outbox());
        if settings.relay_events {
            background.add(relay.spawn(background.shutdown_token()));
        }
        listeners::spawn(&bus, &tickets, &mut background);
        let state = AppState {
            sessions: Sessions::new(&settings.http.jwt_key, settings.http.cookie_secure),
            tickets,
        };
        let readiness = Readiness::new().mongo(db).nats(bus.client().clone());
        let router = common::http::app(routes::router(state), readiness);
        let (listener, address) = bind(settings.http.port).await?;
        tracing::info!(%address, "tickets listening");
        Ok(Self {
            listener,
            port: address.port(),
            router,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown`, then stops the listeners and the relay after the work in hand.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let served = serve(self.listener, self.router, shutdown).await;
        self.background.stop().await;
        served
    }
}
