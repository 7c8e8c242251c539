//! Sessions: the `session` cookie carrying an HS256 JWT (contract section 3).
//!
//! The cookie value is base64 of `{"jwt": "<token>"}`, the shape the original's cookie-session
//! wrote. Anything that does not decode and verify — tampered, `alg: none`, expired, garbage —
//! makes the caller anonymous rather than failing the request, and so does a token whose session
//! was signed out ([`Revocations`]).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{COOKIE, HeaderValue, SET_COOKIE};
use axum::http::{HeaderMap, request::Parts};
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bson::oid::ObjectId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::revocation::Revocations;

pub const SESSION_COOKIE: &str = "session";

/// How long a session token is valid.
pub const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The claims of a session token: who the caller is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserClaims {
    /// The user's id, a 24-hex ObjectId.
    pub id: String,
    pub email: String,
    /// When the session started (seconds since the epoch).
    pub iat: i64,
    /// When the session ends (seconds since the epoch).
    pub exp: i64,
}

impl UserClaims {
    pub fn user_id(&self) -> ObjectId {
        // `Sessions::verify` only accepts tokens whose id parses.
        ObjectId::parse_str(&self.id).unwrap_or_default()
    }
}

/// What a token carries: the user's claims and the token's own id, which a sign-out revokes.
/// (Tokens issued before ids existed are named by user and issue time.) Fields spelled out rather
/// than a flattened [`UserClaims`]: serde's flatten buffers every field, on every request.
#[derive(Serialize, Deserialize)]
struct TokenClaims {
    id: String,
    email: String,
    iat: i64,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

impl TokenClaims {
    fn token_id(&self) -> Cow<'_, str> {
        match &self.jti {
            Some(jti) => Cow::Borrowed(jti),
            None => Cow::Owned(format!("{}-{}", self.id, self.iat)),
        }
    }

    fn into_user(self) -> UserClaims {
        UserClaims {
            id: self.id,
            email: self.email,
            iat: self.iat,
            exp: self.exp,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CookiePayload {
    jwt: String,
}

/// Issues and verifies session tokens and cookies; one per service, shared by its handlers.
///
/// Cheap to clone (one `Arc`): axum clones the state, and the extractors take this out of it,
/// on every request — cloning the keys and the validation rules each time cost a handful of
/// allocations per request.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Keys>,
}

#[derive(Clone)]
struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    secure_cookie: bool,
    /// Signed-out tokens; none are refused without it (tests of a single service).
    revocations: Option<Revocations>,
}

impl Sessions {
    pub fn new(jwt_key: &str, secure_cookie: bool) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat"]);
        Self {
            inner: Arc::new(Keys {
                encoding: EncodingKey::from_secret(jwt_key.as_bytes()),
                decoding: DecodingKey::from_secret(jwt_key.as_bytes()),
                validation,
                secure_cookie,
                revocations: None,
            }),
        }
    }

    /// Refuses the tokens of signed-out sessions, and lets [`Sessions::revoke`] sign them out.
    pub fn with_revocations(mut self, revocations: Revocations) -> Self {
        Arc::make_mut(&mut self.inner).revocations = Some(revocations);
        self
    }

    /// A signed token for this user, valid for [`SESSION_TTL`].
    pub fn issue(&self, user_id: ObjectId, email: &str) -> Result<String, ApiError> {
        let iat = chrono::Utc::now().timestamp();
        let claims = TokenClaims {
            id: user_id.to_hex(),
            email: email.to_owned(),
            iat,
            exp: iat + SESSION_TTL.as_secs() as i64,
            jti: Some(uuid::Uuid::new_v4().simple().to_string()),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.inner.encoding,
        )
        .map_err(ApiError::internal)
    }

    /// The claims of a valid token; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<UserClaims> {
        let claims = self.verified_claims(token)?;
        if let Some(revocations) = &self.inner.revocations
            && revocations.is_revoked(&claims.token_id())
        {
            return None;
        }
        Some(claims.into_user())
    }

    fn verified_claims(&self, token: &str) -> Option<TokenClaims> {
        let data = jsonwebtoken::decode::<TokenClaims>(
            token,
            &self.inner.decoding,
            &self.inner.validation,
        )
        .ok()?;
        ObjectId::parse_str(&data.claims.id).ok()?;
        Some(data.claims)
    }

    /// Signs out the session of the request's cookie everywhere, until its token would have
    /// expired. Nothing to do for a request without a valid session.
    pub async fn revoke(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let claims = session_token(headers).and_then(|token| self.verified_claims(&token));
        match (claims, &self.inner.revocations) {
            (Some(claims), Some(revocations)) => {
                revocations.revoke(&claims.token_id(), claims.exp).await
            }
            _ => Ok(()),
        }
    }

    /// The caller identified by the request's `session` cookie, if any.
    pub fn user_from_headers(&self, headers: &HeaderMap) -> Option<UserClaims> {
        let token = session_token(headers)?;
        self.verify(&token)
    }

    /// The `Set-Cookie` value that starts a session with this token.
    pub fn session_cookie(&self, token: &str) -> HeaderValue {
        let payload = serde_json::to_vec(&CookiePayload {
            jwt: token.to_owned(),
        })
        .expect("a string always serialises");
        let cookie = Cookie::build((SESSION_COOKIE, BASE64.encode(payload)))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.inner.secure_cookie)
            .build();
        header_value(cookie)
    }

    /// The `Set-Cookie` value that ends the session (empty value, expiry in the past).
    pub fn cleared_cookie(&self) -> HeaderValue {
        let mut cookie = Cookie::build((SESSION_COOKIE, ""))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.inner.secure_cookie)
            .build();
        cookie.make_removal();
        header_value(cookie)
    }

    /// `(Set-Cookie, value)` for a response that starts a session.
    pub fn set_cookie_header(&self, token: &str) -> [(axum::http::HeaderName, HeaderValue); 1] {
        [(SET_COOKIE, self.session_cookie(token))]
    }
}

fn header_value(cookie: Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).expect("cookie values are base64 and ASCII")
}

/// The JWT inside the `session` cookie, if the cookie is present and well-formed.
fn session_token(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))?;
    let payload = BASE64.decode(value).ok()?;
    serde_json::from_slice::<CookiePayload>(&payload)
        .ok()
        .map(|payload| payload.jwt)
}

/// The caller, or `None` when anonymous. Never rejects.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Option<UserClaims>);

impl<S> FromRequestParts<S> for CurrentUser
where
    Sessions: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(CurrentUser(
            Sessions::from_ref(state).user_from_headers(&parts.headers),
        ))
    }
}

/// The signed-in caller; anonymous callers are answered 401.
#[derive(Debug, Clone)]
pub struct RequireUser(pub UserClaims);

impl<S> FromRequestParts<S> for RequireUser
where
    Sessions: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Sessions::from_ref(state)
            .user_from_headers(&parts.headers)
            .map(RequireUser)
            .ok_or(ApiError::NotAuthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with_cookie(cookie: &HeaderValue) -> HeaderMap {
        let pair = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    #[test]
    fn a_cookie_round_trips_to_the_same_user() {
        let sessions = Sessions::new("secret", false);
        let id = ObjectId::new();
        let token = sessions.issue(id, "a@b.co").unwrap();
        let user = sessions
            .user_from_headers(&headers_with_cookie(&sessions.session_cookie(&token)))
            .unwrap();
        assert_eq!(user.user_id(), id);
        assert_eq!(user.email, "a@b.co");
        assert!(user.exp > user.iat);
    }

    #[test]
    fn the_cookie_has_the_contract_attributes() {
        let cookie = Sessions::new("k", true).session_cookie("t");
        let text = cookie.to_str().unwrap();
        for part in ["session=", "Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        let cleared = Sessions::new("k", false).cleared_cookie();
        let text = cleared.to_str().unwrap();
        assert!(text.starts_with("session=;"), "{text}");
        assert!(text.contains("Expires="), "{text}");
        assert!(!text.contains("Secure"), "{text}");
    }

    #[test]
    fn forged_or_foreign_tokens_are_anonymous() {
        let sessions = Sessions::new("secret", false);
        let other = Sessions::new("other-secret", false);
        let token = other.issue(ObjectId::new(), "x@y.z").unwrap();
        assert!(sessions.verify(&token).is_none());
        assert!(sessions.verify("garbage").is_none());
        // alg: none
        let header = BASE64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let claims = BASE64.encode(format!(
            r#"{{"id":"{}","email":"x@y.z","iat":1,"exp":99999999999}}"#,
            ObjectId::new().to_hex()
        ));
        assert!(sessions.verify(&format!("{header}.{claims}.")).is_none());
    }

    #[test]
    fn expired_tokens_are_anonymous() {
        let sessions = Sessions::new("secret", false);
        let now = chrono::Utc::now().timestamp();
        let claims = UserClaims {
            id: ObjectId::new().to_hex(),
            email: "a@b.co".into(),
            iat: now - 100,
            exp: now - 1,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert!(sessions.verify(&token).is_none());
    }
}
