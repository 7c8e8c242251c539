mod create;

use common::api_docs::ServiceApi;
use utoipa_axum::routes;

use crate::state::AppState;

/// The operations' tag in the API's description.
const TAG: &str = "payments";

/// The routes with their documented operations: served by [`crate::startup`], described in
/// the API's document (`crates/api-docs`).
pub fn api() -> ServiceApi<AppState> {
    ServiceApi::new("payments", "Paying for a confirmed order.").routes(routes!(create::create))
}
