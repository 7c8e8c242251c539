mod create;
mod helpers;
mod listeners;
mod metrics;
mod outbox;
mod read;
mod startup;
mod update;
