//! The auth service: accounts and sessions.

pub mod configuration;
pub mod error;
pub mod models;
pub mod password_hashing;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
