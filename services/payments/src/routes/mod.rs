mod create;

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The operations' tag in the API's description.
const TAG: &str = "payments";

/// The routes with their documented operations.
fn api() -> OpenApiRouter<AppState> {
    common::api_docs::router("payments", "Paying for a confirmed order.")
        .routes(routes!(create::create))
}

pub fn router(state: AppState) -> Router {
    api().split_for_parts().0.with_state(state)
}

/// The service's OpenAPI document.
pub fn openapi() -> OpenApi {
    common::api_docs::finish(api().into_openapi())
}
