use std::num::NonZeroUsize;

use common::settings::{EventSettings, HttpSettings, SettingError, optional, required};

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub mongo_url: String,
    /// NATS: where signed-out sessions are written for every service to refuse.
    pub events: EventSettings,
    /// Password hashes computed at once (`PASSWORD_HASHES_IN_PARALLEL`; each takes a CPU and
    /// 19 MiB while it runs); default: the CPUs the process may use.
    pub password_hashes_in_parallel: NonZeroUsize,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            http: HttpSettings::from_env()?,
            mongo_url: required("MONGO_URL")?,
            events: EventSettings::from_env()?,
            password_hashes_in_parallel: optional(
                "PASSWORD_HASHES_IN_PARALLEL",
                std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            )?,
        })
    }
}
