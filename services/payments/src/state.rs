//! What every request handler can reach: the session keys and the service's data.

use axum::extract::FromRef;
use common::Sessions;

use crate::models::payment::Checkout;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub sessions: Sessions,
    pub checkout: Checkout,
}
