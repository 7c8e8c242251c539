//! The service's MongoDB collections, and the procedure that charges through them.

pub mod checkout;
pub mod order_replica;
