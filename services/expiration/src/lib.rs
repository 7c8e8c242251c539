//! The expiration service: an order's hold on its ticket ends when its time is up.

pub mod configuration;
pub mod jobs;
pub mod startup;
