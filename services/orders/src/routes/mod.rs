mod cancel;
mod create;
mod index;
mod show;

use common::api_docs::ServiceApi;
use utoipa_axum::routes;

use crate::state::AppState;

/// The operations' tag in the API's description.
const TAG: &str = "orders";

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
