use common::service::{EventService, Server, StartupError};

use crate::configuration::Settings;
use crate::events::listeners;
use crate::routes;
use crate::store::orders::Orders;
use crate::store::ticket_replica::TicketReplica;

use crate::state::AppState;

pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let schema = [Orders::schema(), TicketReplica::schema()];
        let mut service = EventService::start("orders", &settings.service, &schema).await?;
        let tickets = TicketReplica::new(&service.db);
        let orders = Orders::new(
            &service.db,
            tickets.clone(),
            service.outbox.clone(),
            settings.expiration_window,
        );
        listeners::spawn(&mut service, &orders, &tickets);
        let state = AppState {
            sessions: service.sessions(),
            orders,
            per_user_limit: settings.per_user_limit(),
        };
        service.serve(routes::api().router(state)).await
    }
}
