use common::service::{EventService, Server, StartupError};

use crate::configuration::Settings;
use crate::events::listeners;
use crate::models::ticket::Tickets;
use crate::routes;
use crate::state::AppState;

pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let mut service = EventService::start("tickets", &settings, &[Tickets::schema()]).await?;
        let tickets = Tickets::new(&service.db, service.outbox.clone());
        listeners::spawn(&mut service, &tickets);
        let state = AppState {
            sessions: service.sessions(),
            tickets,
        };
        service.serve(routes::router(state)).await
    }
}
