mod close;
mod helpers;
mod listeners;
mod pay;
mod stale;
mod startup;
