use axum::extract::FromRef;
use common::Sessions;
use common::service::{EventService, Server, StartupError};

use crate::configuration::Settings;
use crate::events::listeners;
use crate::models::order::OrderReplica;
use crate::models::payment::Checkout;
use crate::routes;
use crate::stripe::Payments;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub sessions: Sessions,
    pub checkout: Checkout,
}

pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let stripe = Payments::new(&settings.stripe_key, settings.stripe_api_base.as_deref())
            .map_err(StartupError::Other)?;
        let mut service = EventService::start(
            "payments",
            &settings.mongo_url,
            &settings.events,
            &[Checkout::COLLECTION],
            settings.relay_events,
        )
        .await?;
        let orders = OrderReplica::new(&service.db);
        let checkout = Checkout::new(&service.db, orders.clone(), stripe, service.outbox.clone());
        if let Err(error) = checkout.ensure_indexes().await {
            tracing::warn!(%error, "payments index not created yet");
        }
        listeners::spawn(&service.bus, &orders, &checkout, &mut service.background);
        let state = AppState {
            sessions: Sessions::new(&settings.http.jwt_key, settings.http.cookie_secure),
            checkout,
        };
        let readiness = service.readiness();
        Server::bind(
            "payments",
            settings.http.port,
            routes::router(state),
            readiness,
            service.background,
        )
        .await
    }
}
