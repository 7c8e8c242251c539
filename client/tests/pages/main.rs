//! Handler-level tests of every page: the client app against a fake API.

mod account;
mod helpers;
mod home;
mod orders;
mod shell;
mod tickets;
