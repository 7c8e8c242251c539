mod cancel;
mod create;
mod index;
mod show;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/orders", get(index::my_orders).post(create::create))
        .route("/api/orders/{id}", get(show::show).delete(cancel::cancel))
        .with_state(state)
}
