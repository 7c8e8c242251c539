pub mod listing;
pub mod ticket;
