use common::service::{EventService, Server, StartupError};
use secrecy::ExposeSecret;

use crate::configuration::Settings;
use crate::events::listeners;
use crate::routes;
use crate::store::checkout::Checkout;
use crate::store::order_replica::OrderReplica;

use crate::state::AppState;
use crate::stripe::Stripe;

pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let stripe = Stripe::new(
            settings.stripe_key.expose_secret(),
            settings.stripe_api_base.as_deref(),
        )
        .map_err(StartupError::Other)?;
        let schema = [Checkout::schema(), OrderReplica::schema()];
        let mut service = EventService::start("payments", &settings.service, &schema).await?;
        let orders = OrderReplica::new(&service.db);
        let checkout = Checkout::new(&service.db, orders.clone(), stripe, service.outbox.clone());
        let settling = spawn_settler(checkout.clone(), service.background.shutdown_token());
        service.background.add(settling);
        listeners::spawn(&mut service, &orders, &checkout).await?;
        let state = AppState {
            sessions: service.sessions(),
            checkout,
            per_user_limit: settings.per_user_limit(),
        };
        service.serve(routes::api().router(state)).await
    }
}

/// How often payments that died mid-way are looked for (they are settled once their claim is
/// older than `STALE_CLAIM`).
const SETTLE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15);

fn spawn_settler(
    checkout: Checkout,
    shutdown: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(SETTLE_INTERVAL) => {}
            }
            if let Err(error) = checkout.settle_stale_claims().await {
                tracing::warn!(%error, "stale payments not settled yet");
            }
        }
    })
}
