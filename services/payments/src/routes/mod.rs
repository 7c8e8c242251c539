mod create;

use common::api_docs::{Resource, ServiceApi};
use utoipa_axum::routes;

use crate::models::order::Order;
use crate::state::AppState;

/// The operations' tag in the API's description.
const TAG: &str = "payments";

/// How the operations' descriptions name the order paid for and its owner.
impl Resource for Order {
    const NAME: &'static str = "order";
    const OWNER: &'static str = "buyer";
}

/// The routes with their documented operations: served by [`crate::startup`], described in
/// the API's document (`crates/api-docs`).
pub fn api() -> ServiceApi<AppState> {
    ServiceApi::new("payments", "Paying for a confirmed order.").routes(routes!(create::create))
}
