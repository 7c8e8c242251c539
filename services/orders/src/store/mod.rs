//! The service's MongoDB collections.

pub mod orders;
pub mod ticket_replica;
