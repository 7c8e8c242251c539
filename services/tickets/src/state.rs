//! What every request handler can reach: the session keys and the service's data.

use axum::extract::FromRef;
use common::Sessions;

use crate::store::Tickets;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub sessions: Sessions,
    pub tickets: Tickets,
}
