//! The auth service: accounts and sessions.

pub mod configuration;
pub mod models;
pub mod routes;
pub mod startup;
