mod cancel;
mod create;
mod helpers;
mod listeners;
mod read;
mod startup;
