//! Users: credentials parsed from input, and a user as the API shows it.

use common::bson::oid::ObjectId;
use common::{ApiError, ApiResult, JsonBody};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use validator::ValidateEmail;

const EMAIL_INVALID: &str = "Email must be valid";
const PASSWORD_LENGTH: &str = "Password must be between 4 and 20 characters";
const PASSWORD_MISSING: &str = "You must supply a password";

/// A syntactically valid email, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(body: &JsonBody) -> Result<Self, &'static str> {
        let email = body.text("email").ok_or(EMAIL_INVALID)?.to_lowercase();
        if email.len() <= 254 && email.validate_email() {
            Ok(Email(email))
        } else {
            Err(EMAIL_INVALID)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A password as typed, trimmed (the original's validator trimmed it too).
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// A new account's password: 4 to 20 characters after trimming.
    pub fn parse_new(body: &JsonBody) -> Result<Self, &'static str> {
        match body.get("password").and_then(Value::as_str).map(str::trim) {
            Some(password) if (4..=20).contains(&password.chars().count()) => {
                Ok(Password(password.to_owned()))
            }
            _ => Err(PASSWORD_LENGTH),
        }
    }

    /// A sign-in password: anything non-blank (length rules may have changed since sign-up).
    pub fn parse_existing(body: &JsonBody) -> Result<Self, &'static str> {
        body.text("password")
            .map(|password| Password(password.to_owned()))
            .ok_or(PASSWORD_MISSING)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// What sign-up and sign-in read (the API's description of [`Credentials`]'s input).
#[derive(ToSchema)]
#[allow(dead_code)] // Described, never built: the body is parsed field by field.
pub struct CredentialsInput {
    /// Trimmed and lower-cased.
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// Sign-up: 4 to 20 characters once trimmed; sign-in: not blank.
    #[schema(min_length = 1)]
    password: String,
}

pub struct Credentials {
    pub email: Email,
    pub password: Password,
}

impl Credentials {
    pub fn parse_new(body: &JsonBody) -> ApiResult<Self> {
        Self::combine(Email::parse(body), Password::parse_new(body))
    }

    pub fn parse_existing(body: &JsonBody) -> ApiResult<Self> {
        Self::combine(Email::parse(body), Password::parse_existing(body))
    }

    fn combine(
        email: Result<Email, &'static str>,
        password: Result<Password, &'static str>,
    ) -> ApiResult<Self> {
        match (email, password) {
            (Ok(email), Ok(password)) => Ok(Credentials { email, password }),
            (email, password) => Err(ApiError::validation([
                ("email", email.err()),
                ("password", password.err()),
            ])),
        }
    }
}

/// A signed-up user as the API shows it.
#[derive(Debug, Clone)]
pub struct User {
    pub id: ObjectId,
    pub email: String,
}

impl User {
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.to_hex(),
            email: self.email.clone(),
        }
    }
}

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// 24 hex digits.
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub id: String,
    pub email: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> JsonBody {
        JsonBody(value.as_object().cloned().unwrap())
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let email = Email::parse(&body(json!({ "email": "  Bob@Example.COM " }))).unwrap();
        assert_eq!(email, Email("bob@example.com".into()));
    }

    #[test]
    fn bad_emails_and_passwords_are_refused_per_field() {
        for bad in [json!("nope"), json!(""), json!({ "$ne": null }), json!(42)] {
            assert_eq!(
                Email::parse(&body(json!({ "email": bad }))),
                Err(EMAIL_INVALID)
            );
        }
        for bad in [
            json!("abc"),
            json!("  abc   "),
            json!("x".repeat(21)),
            json!({ "$ne": null }),
        ] {
            assert!(Password::parse_new(&body(json!({ "password": bad }))).is_err());
        }
        assert!(Password::parse_new(&body(json!({ "password": "  abcd  " }))).is_ok());
    }
}
