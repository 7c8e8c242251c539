pub mod listeners;
