pub mod order;
pub mod ticket;
