//! The tickets service needs nothing beyond what every event service reads.

pub type Settings = common::settings::EventServiceSettings;
