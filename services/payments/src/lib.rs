//! The payments service: charges orders through Stripe, exactly once.

pub mod configuration;
pub mod error;
pub mod events;
pub mod models;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod stripe;
