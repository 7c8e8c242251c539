mod current_user;
mod signin;
mod signout;
mod signup;

use common::api_docs::ServiceApi;
use utoipa_axum::routes;

use crate::state::AppState;

/// The operations' tag in the API's description.
const TAG: &str = "users";

/// The routes with their documented operations: served by [`crate::startup`], described in
/// the API's document (`crates/api-docs`).
pub fn api() -> ServiceApi<AppState> {
    ServiceApi::new("auth", "Accounts and sessions.")
        .routes(routes!(signup::signup))
        .routes(routes!(signin::signin))
        .routes(routes!(signout::signout))
        .routes(routes!(current_user::current_user))
}
