mod create;
mod helpers;
mod listeners;
mod outbox;
mod read;
mod startup;
mod update;
