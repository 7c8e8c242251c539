mod helpers;
mod listeners;
mod pay;
