use common::Sessions;
use common::service::{EventService, Server, StartupError};
use secrecy::ExposeSecret;

use crate::configuration::Settings;
use crate::events::listeners;
use crate::models::ticket::Tickets;
use crate::routes;
use crate::state::AppState;

pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let mut service = EventService::start(
            "tickets",
            &settings.mongo_url,
            &settings.events,
            &[Tickets::schema()],
            settings.relay_events,
        )
        .await?;
        let tickets = Tickets::new(&service.db, service.outbox.clone());
        listeners::spawn(&service.bus, &tickets, &mut service.background);
        let state = AppState {
            sessions: Sessions::new(
                settings.http.jwt_key.expose_secret(),
                settings.http.cookie_secure,
            ),
            tickets,
        };
        let readiness = service.readiness();
        Server::bind(
            "tickets",
            settings.http.port,
            routes::router(state),
            readiness,
            service.background,
        )
        .await
    }
}
