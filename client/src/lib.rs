//! The web client: server-rendered pages over the ticketing API, reached through the gateway or
//! ingress on the browser's behalf (the original's `build-client`).

pub mod api;
pub mod assets;
pub mod configuration;
pub mod contract;
pub mod error;
pub mod error_page;
pub mod routes;
pub mod startup;
pub mod state;
pub mod views;
