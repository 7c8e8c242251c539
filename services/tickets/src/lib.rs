//! The tickets service: the source of truth for tickets and their reservation.

pub mod configuration;
pub mod error;
pub mod events;
pub mod models;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
