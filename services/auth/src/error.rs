//! What can go wrong signing up or in, said once; routes turn it into the contract's answer.

use common::ApiError;

use crate::password_hashing::HashingError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Email in use")]
    EmailInUse,
    /// One answer for an unknown email and a wrong password: neither tells which.
    #[error("Invalid credentials")]
    InvalidCredentials,
    #[error(transparent)]
    Store(#[from] mongodb::error::Error),
    #[error("password hashing failed: {0}")]
    Hashing(#[from] HashingError),
}

pub type AuthResult<T> = Result<T, AuthError>;

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::EmailInUse | AuthError::InvalidCredentials => {
                ApiError::bad_request(error.to_string())
            }
            AuthError::Store(error) => error.into(),
            AuthError::Hashing(error) => ApiError::internal(error),
        }
    }
}
