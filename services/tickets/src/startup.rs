use common::service::{EventService, Server, StartupError};

use crate::configuration::Settings;
use crate::events::{changes, listeners};
use crate::models::listing::Listing;
use crate::routes;
use crate::state::AppState;
use crate::store::Tickets;

pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let mut service = EventService::start("tickets", &settings, &[Tickets::schema()]).await?;
        let listing = Listing::new();
        changes::spawn(&service.bus, &listing, &mut service.background);
        let tickets = Tickets::new(&service.db, service.outbox.clone(), listing);
        listeners::spawn(&mut service, &tickets);
        let state = AppState {
            sessions: service.sessions(),
            tickets,
        };
        service.serve(routes::api().router(state)).await
    }
}
