mod create;
mod index;
mod show;
mod update;

use common::api_docs::{Resource, ServiceApi};
use utoipa_axum::routes;

use crate::models::ticket::Ticket;
use crate::state::AppState;

/// The operations' tag in the API's description.
const TAG: &str = "tickets";

/// How the operations' descriptions name a ticket and its owner.
impl Resource for Ticket {
    const NAME: &'static str = "ticket";
    const OWNER: &'static str = "seller";
}

/// The routes with their documented operations: served by [`crate::startup`], described in
/// the API's document (`crates/api-docs`).
pub fn api() -> ServiceApi<AppState> {
    ServiceApi::new("tickets", "Tickets for sale: list, show, sell, edit.")
        .routes(routes!(index::list_available, create::create))
        .routes(routes!(show::show, update::update))
}
