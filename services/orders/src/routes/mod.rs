mod cancel;
mod create;
mod index;
mod show;

use common::api_docs::{Resource, ServiceApi};
use utoipa_axum::routes;

use crate::models::order::Order;
use crate::state::AppState;
use crate::store::ticket_replica::Ticket;

/// The operations' tag in the API's description.
const TAG: &str = "orders";

/// How the operations' descriptions name an order and its owner.
impl Resource for Order {
    const NAME: &'static str = "order";
    const OWNER: &'static str = "buyer";
}

/// An order names a ticket, sold by its seller.
impl Resource for Ticket {
    const NAME: &'static str = "ticket";
    const OWNER: &'static str = "seller";
}

/// The routes with their documented operations: served by [`crate::startup`], described in
/// the API's document (`crates/api-docs`).
pub fn api() -> ServiceApi<AppState> {
    ServiceApi::new(
        "orders",
        "A buyer's orders: reserve a ticket, look, cancel.",
    )
    .routes(routes!(index::my_orders, create::create))
    .routes(routes!(show::show, cancel::cancel))
}
