mod cancel;
mod create;
mod index;
mod show;

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The operations' tag in the API's description.
const TAG: &str = "orders";

/// The routes with their documented operations.
fn api() -> OpenApiRouter<AppState> {
    common::api_docs::router(
        "orders",
        "A buyer's orders: reserve a ticket, look, cancel.",
    )
    .routes(routes!(index::my_orders, create::create))
    .routes(routes!(show::show, cancel::cancel))
}

pub fn router(state: AppState) -> Router {
    api().split_for_parts().0.with_state(state)
}

/// The service's OpenAPI document.
pub fn openapi() -> OpenApi {
    common::api_docs::finish(api().into_openapi())
}
