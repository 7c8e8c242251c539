mod create;
mod index;
mod show;
mod update;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/tickets",
            get(index::list_available).post(create::create),
        )
        .route("/api/tickets/{id}", get(show::show).put(update::update))
        .with_state(state)
}
