//! What every request handler can reach: the session keys and the service's data.

use axum::extract::FromRef;
use common::Sessions;
use common::rate_limit::PerUserLimit;

use crate::store::orders::Orders;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub sessions: Sessions,
    pub orders: Orders,
    /// Orders per user: each holds a ticket for the whole window.
    pub per_user_limit: PerUserLimit,
}
