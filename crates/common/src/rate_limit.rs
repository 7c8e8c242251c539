//! Rate limits where abuse is cheap for the caller and dear for us: sign-in and sign-up attempts
//! per client address and per email (each costs an argon2 hash), orders and payments per user.
//!
//! Each limit is governor's keyed GCRA limiter: a key may spend its whole allowance at once,
//! which then comes back evenly over a minute. It counts per replica; the gateway and the
//! ingress add a per-address limit in front of every replica.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{ApiError, ApiResult};
use crate::input::{JsonBody, ParseBody};
use crate::session::{RequireUser, Sessions, UserClaims};
pub use crate::settings::RateLimitSettings;

/// Forgets keys that have their whole allowance back every this many checks, so the table
/// holds only recent callers.
const CHECKS_BETWEEN_SWEEPS: u64 = 4096;

/// How many attempts a key may make per minute.
#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    checks: Arc<AtomicU64>,
}

impl RateLimit {
    pub fn per_minute(attempts: NonZeroU32) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(attempts))),
            checks: Arc::default(),
        }
    }

    /// Spends one attempt of `key`'s allowance, or refuses with 429 and the seconds until the
    /// next one.
    pub fn check(&self, key: &str) -> ApiResult<()> {
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(CHECKS_BETWEEN_SWEEPS)
        {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::TooManyRequests {
                    retry_after_seconds: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                }
            })
    }
}

/// How many attempts of one kind (orders, payments) a signed-in user may make per minute: the
/// one limit of a service whose costly operation is done per user.
#[derive(Clone)]
pub struct PerUserLimit(RateLimit);

impl PerUserLimit {
    pub fn per_minute(attempts: NonZeroU32) -> Self {
        Self(RateLimit::per_minute(attempts))
    }

    /// Spends one of `user`'s attempts, or refuses with 429 and the seconds until the next one.
    pub fn check(&self, user: &UserClaims) -> ApiResult<()> {
        self.0.check(&user.id)
    }
}

/// A signed-in user's input to an operation limited per user ([`PerUserLimit`]), refused in this
/// order: not signed in (401), invalid input (400, which spends no attempt), then too many
/// attempts (429).
pub struct LimitedRequest<T>(pub UserClaims, pub T);

impl<S, T> FromRequest<S> for LimitedRequest<T>
where
    Sessions: FromRef<S>,
    PerUserLimit: FromRef<S>,
    S: Send + Sync,
    T: ParseBody,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let RequireUser(user) = RequireUser::from_request_parts(&mut parts, state).await?;
        let body = JsonBody::from_request(Request::from_parts(parts, body), state).await?;
        let input = T::parse(&body)?;
        PerUserLimit::from_ref(state).check(&user)?;
        Ok(Self(user, input))
    }
}

/// The address of the client a request comes from: `X-Real-IP`, which the gateway and the
/// ingress set to their peer's address (the services listen where only they reach them), else
/// the connection's own peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let forwarded = parts
            .headers
            .get("x-real-ip")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<IpAddr>().ok());
        let peer = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip())
        };
        Ok(ClientAddress(
            forwarded
                .or_else(peer)
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_spends_its_allowance_then_waits_while_others_go_on() {
        let limit = RateLimit::per_minute(NonZeroU32::new(3).unwrap());
        for _ in 0..3 {
            assert!(limit.check("ann@example.com").is_ok());
        }
        match limit.check("ann@example.com") {
            Err(ApiError::TooManyRequests {
                retry_after_seconds,
            }) => assert!(
                (1..=20).contains(&retry_after_seconds),
                "{retry_after_seconds}"
            ),
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(limit.check("bob@example.com").is_ok());
    }
}
