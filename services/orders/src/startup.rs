use common::Sessions;
use common::service::{EventService, Server, StartupError};
use secrecy::ExposeSecret;

use crate::configuration::Settings;
use crate::events::listeners;
use crate::models::order::Orders;
use crate::models::ticket::TicketReplica;
use crate::routes;
use crate::state::AppState;

pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let mut service = EventService::start(
            "orders",
            &settings.mongo_url,
            &settings.events,
            &[Orders::schema(), TicketReplica::schema()],
            settings.relay_events,
        )
        .await?;
        let tickets = TicketReplica::new(&service.db);
        let orders = Orders::new(
            &service.db,
            tickets.clone(),
            service.outbox.clone(),
            settings.expiration_window,
        );
        listeners::spawn(&service.bus, &orders, &tickets, &mut service.background);
        let state = AppState {
            sessions: Sessions::new(
                settings.http.jwt_key.expose_secret(),
                settings.http.cookie_secure,
            ),
            orders,
        };
        let readiness = service.readiness();
        Server::bind(
            "orders",
            settings.http.port,
            routes::router(state),
            readiness,
            service.background,
        )
        .await
    }
}
