use std::num::NonZeroUsize;

use common::settings::{ServiceSettings, SettingError, optional};

#[derive(Debug, Clone)]
pub struct Settings {
    /// HTTP, the users' database, and NATS: where signed-out sessions are written for every
    /// service to refuse (no outbox: auth publishes no events).
    pub service: ServiceSettings,
    /// Password hashes computed at once (`PASSWORD_HASHES_IN_PARALLEL`; each takes a CPU and
    /// 19 MiB while it runs); default: the CPUs the process may use.
    pub password_hashes_in_parallel: NonZeroUsize,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            service: ServiceSettings::from_env()?,
            password_hashes_in_parallel: optional(
                "PASSWORD_HASHES_IN_PARALLEL",
                std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            )?,
        })
    }
}
