//! What every page handler can reach: the API and how the payment page takes cards.

use axum::extract::FromRef;

use crate::api::Api;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub api: Api,
    pub card_entry: CardEntry,
}

/// How the payment page takes cards.
#[derive(Clone, Debug, Default)]
pub struct CardEntry {
    pub stripe_publishable_key: Option<String>,
}
