//! Start-up and running of a service, the same for every one of them: connect to the stores,
//! start the background work, bind, serve, and stop in order.

use std::future::Future;

use axum::Router;
use mongodb::Database;
use tokio::net::TcpListener;

use secrecy::ExposeSecret;

use crate::Sessions;
use crate::events::{BusError, Event, EventBus, HandlerError, Outbox, OutboxRelay, Query};
use crate::http::{Readiness, bind, serve};
use crate::mongo::CollectionSchema;
use crate::revocation::Revocations;
use crate::session::SESSION_TTL;
pub use crate::settings::Ports;
use crate::settings::{EventServiceSettings, HttpSettings, or_exit};
use crate::tasks::BackgroundTasks;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("MONGO_URL is unusable: {0}")]
    Mongo(#[from] mongodb::error::Error),
    #[error("NATS_URL is unusable: {0}")]
    Nats(#[from] BusError),
    #[error("cannot listen on the port: {0}")]
    Bind(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

/// What a service that owns a MongoDB database and talks over the bus starts with.
pub struct EventService {
    name: &'static str,
    http: HttpSettings,
    pub db: Database,
    pub bus: EventBus,
    /// Wakes the outbox relay after a write.
    pub outbox: Outbox,
    /// Signed-out sessions, for the service's [`crate::Sessions`].
    pub revocations: Revocations,
    pub background: BackgroundTasks,
}

impl EventService {
    /// Connects to the database and the bus, prepares the collections and indexes of `schema`
    /// (before anything else runs: nothing writes while they are created), and starts the outbox
    /// relay over its collections with an outbox (unless `relay_events` is off, which only tests
    /// do to stand for a crash).
    pub async fn start(
        name: &'static str,
        settings: &EventServiceSettings,
        schema: &[CollectionSchema],
    ) -> Result<Self, StartupError> {
        crate::metrics::recorder();
        let events = &settings.base.events;
        let db = crate::mongo::connect(&settings.base.mongo_url, name).await?;
        let schema: Vec<CollectionSchema> = schema
            .iter()
            .cloned()
            .map(|collection| match collection.outbox {
                true => collection.index(crate::events::outbox::pending_index()),
                false => collection,
            })
            .collect();
        crate::mongo::prepare_when_reachable(&db, &schema).await?;
        let bus = EventBus::from_settings(events).await?;
        let relay = OutboxRelay::new(
            bus.clone(),
            schema
                .iter()
                .filter(|collection| collection.outbox)
                .map(|collection| db.collection(collection.name))
                .collect(),
        );
        let outbox = relay.outbox();
        let mut background = BackgroundTasks::new();
        if settings.relay_events {
            background.add(relay.spawn(background.shutdown_token()));
        }
        let (revocations, follower) =
            Revocations::follow(&bus, SESSION_TTL, background.shutdown_token()).await?;
        background.add(follower);
        Ok(Self {
            name,
            http: settings.base.http.clone(),
            db,
            bus,
            outbox,
            revocations,
            background,
        })
    }

    /// Handles every `E` with `handler(state, event)` (a clone of `state` per message, the
    /// service's store typically) until the service stops: see [`EventBus::listen_with`]. The
    /// handler answers in the service's own error; its `Into<HandlerError>` says which errors
    /// are worth a redelivery.
    pub fn listen<E, S, H, Fut, Failure>(&mut self, state: S, handler: H)
    where
        E: Event,
        S: Clone + Send + Sync + 'static,
        H: Fn(S, E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Failure>> + Send,
        Failure: Into<HandlerError>,
    {
        let handler = move |state, event| {
            let handled = handler(state, event);
            async move { handled.await.map_err(Into::into) }
        };
        let token = self.background.shutdown_token();
        let listening = self.bus.listen_with(self.name, state, handler, token);
        self.background.add(listening);
    }

    /// Answers every `Q` with `answer(state, query)` until the service stops: see
    /// [`EventBus::answer`].
    pub async fn answer<Q, S, H, Fut, E>(&mut self, state: S, answer: H) -> Result<(), BusError>
    where
        Q: Query,
        S: Clone + Send + Sync + 'static,
        H: Fn(S, Q) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Q::Answer, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let token = self.background.shutdown_token();
        let answering = self.bus.answer(self.name, state, answer, token).await?;
        self.background.add(answering);
        Ok(())
    }

    /// The session keys of the service's requests.
    pub fn sessions(&self) -> Sessions {
        Sessions::new(self.http.jwt_key.expose_secret(), self.http.cookie_secure)
            .with_revocations(self.revocations.clone())
    }

    /// Binds the service's port with `api`; `/readyz` checks the database and NATS.
    pub async fn serve(self, api: Router) -> Result<Server, StartupError> {
        let readiness = Readiness::new()
            .mongo(self.db.clone())
            .nats(self.bus.client().clone());
        Server::bind(
            self.name,
            self.http.ports(),
            api,
            readiness,
            self.background,
        )
        .await
    }
}

/// Runs a service's `main`: reads the settings, builds and serves until SIGTERM or Ctrl-C,
/// and exits with one line on stderr when any of that fails.
pub async fn run<S, SE, F, Fut>(name: &str, settings: fn() -> Result<S, SE>, build: F)
where
    SE: std::fmt::Display,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = Result<Server, StartupError>>,
{
    crate::telemetry::init(name);
    let settings = or_exit(settings());
    let server = or_exit(build(settings).await);
    let served = server
        .run_until_stopped(crate::http::shutdown_signal())
        .await;
    crate::telemetry::shutdown().await;
    or_exit(served);
}

/// A bound, ready-to-serve service.
pub struct Server {
    listener: TcpListener,
    port: u16,
    router: Router,
    metrics: Option<(TcpListener, u16)>,
    background: BackgroundTasks,
}

impl Server {
    /// Wraps `api` with the shared HTTP shell and binds its ports.
    pub async fn bind(
        service: &str,
        ports: Ports,
        api: Router,
        readiness: Readiness,
        background: BackgroundTasks,
    ) -> Result<Self, StartupError> {
        crate::metrics::recorder();
        let router = crate::http::app(api, readiness);
        let (listener, address) = bind(ports.http).await?;
        tracing::info!(%address, "{service} listening");
        let metrics = match ports.metrics {
            Some(port) => {
                let (listener, address) = bind(port).await?;
                tracing::info!(%address, "{service} serves its metrics at /metrics");
                Some((listener, address.port()))
            }
            None => None,
        };
        Ok(Self {
            listener,
            port: address.port(),
            router,
            metrics,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of `GET /metrics`, when the service serves its metrics.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// Serves until `shutdown`, then stops the background work after what it holds.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stopped = tokio_util::sync::CancellationToken::new();
        if let Some((listener, _)) = self.metrics {
            let stopped = stopped.clone();
            tokio::spawn(async move {
                let shutdown = async move { stopped.cancelled().await };
                if let Err(error) = serve(listener, crate::metrics::router(), shutdown).await {
                    tracing::error!(%error, "the metrics port stopped serving");
                }
            });
        }
        let served = serve(self.listener, self.router, shutdown).await;
        stopped.cancel();
        self.background.stop().await;
        served
    }
}
