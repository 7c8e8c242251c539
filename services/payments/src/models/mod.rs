pub mod order;
pub mod payment;
