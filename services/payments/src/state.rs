//! What every request handler can reach: the session keys and the service's data.

use axum::extract::FromRef;
use common::Sessions;
use common::rate_limit::PerUserLimit;

use crate::store::checkout::Checkout;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub sessions: Sessions,
    pub checkout: Checkout,
    /// Payments per user: each is a call to the card processor.
    pub per_user_limit: PerUserLimit,
}
