mod create;
mod index;
mod show;
mod update;

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The operations' tag in the API's description.
const TAG: &str = "tickets";

/// The routes with their documented operations.
fn api() -> OpenApiRouter<AppState> {
    common::api_docs::router("tickets", "Tickets for sale: list, show, sell, edit.")
        .routes(routes!(index::list_available, create::create))
        .routes(routes!(show::show, update::update))
}

pub fn router(state: AppState) -> Router {
    api().split_for_parts().0.with_state(state)
}

/// The service's OpenAPI document.
pub fn openapi() -> OpenApi {
    common::api_docs::finish(api().into_openapi())
}
