mod create;

use axum::Router;
use axum::routing::post;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/payments", post(create::create))
        .with_state(state)
}
