mod cancel;
mod create;
mod helpers;
mod listeners;
mod metrics;
mod read;
mod startup;
