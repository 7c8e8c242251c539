//! What every page handler can reach: the API and how payments take cards.

use axum::extract::FromRef;

use crate::api::Api;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub api: Api,
    pub payments: Payments,
}

/// How the payment page takes cards.
#[derive(Clone, Debug, Default)]
pub struct Payments {
    pub stripe_publishable_key: Option<String>,
}
