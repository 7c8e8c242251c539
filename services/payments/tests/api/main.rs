mod close;
mod helpers;
mod listeners;
mod metrics;
mod pay;
mod stale;
mod startup;
