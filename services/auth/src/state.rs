//! What every request handler can reach: the session keys and the service's data.

use axum::extract::FromRef;
use std::net::IpAddr;

use common::rate_limit::{RateLimit, RateLimitSettings};
use common::{ApiResult, Sessions};

use crate::models::user::Credentials;
use crate::store::Users;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub sessions: Sessions,
    pub users: Users,
    pub limits: SignInLimits,
}

/// Sign-ins and sign-ups, counted together: each costs a password hash.
#[derive(Clone)]
pub struct SignInLimits {
    per_address: RateLimit,
    per_email: RateLimit,
}

impl SignInLimits {
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            per_address: RateLimit::per_minute(settings.sign_in_per_address),
            per_email: RateLimit::per_minute(settings.sign_in_per_email),
        }
    }

    /// Spends an attempt from the client's address and one at the account's email.
    pub fn check(&self, address: IpAddr, credentials: &Credentials) -> ApiResult<()> {
        self.per_address.check(&address.to_string())?;
        self.per_email.check(credentials.email.as_str())
    }
}
