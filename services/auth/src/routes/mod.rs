mod current_user;
mod signin;
mod signout;
mod signup;

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The operations' tag in the API's description.
const TAG: &str = "users";

/// The routes with their documented operations.
fn api() -> OpenApiRouter<AppState> {
    common::api_docs::router("auth", "Accounts and sessions.")
        .routes(routes!(signup::signup))
        .routes(routes!(signin::signin))
        .routes(routes!(signout::signout))
        .routes(routes!(current_user::current_user))
}

pub fn router(state: AppState) -> Router {
    api().split_for_parts().0.with_state(state)
}

/// The service's OpenAPI document.
pub fn openapi() -> OpenApi {
    common::api_docs::finish(api().into_openapi())
}
