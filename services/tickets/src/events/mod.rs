pub mod changes;
pub mod listeners;
