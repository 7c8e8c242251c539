mod helpers;
mod listeners;
mod pay;
mod startup;
