//! The orders service: reservations of tickets for a limited time.

pub mod configuration;
pub mod error;
pub mod events;
pub mod models;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
