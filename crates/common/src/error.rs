//! The one error type every service answers with.
//!
//! Each variant maps to exactly one status of the contract (section 2); the body is always
//! `{"errors": [{"message": ..., "field"?: ...}]}`. Internal details are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{HeaderValue, RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One entry of the contract's error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErrorEntry {
    /// What went wrong, for a person to read.
    pub message: String,
    /// The request body's field the message is about (input errors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    errors: &'a [ErrorEntry],
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Input validation failed: one entry per failing field.
    #[error("validation failed")]
    Validation(Vec<ErrorEntry>),
    /// Malformed input or a business rule refused the request.
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("not authorized")]
    NotAuthorized,
    #[error("not found")]
    NotFound,
    /// The resource changed since the caller saw it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The card processor refused the charge; carries the processor's message.
    #[error("payment refused: {0}")]
    PaymentRefused(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// More request headers, or larger ones, than a service reads.
    #[error("request headers too large")]
    HeadersTooLarge,
    /// A rate limit refused the request; the caller may try again after this many seconds.
    #[error("too many requests (retry after {retry_after_seconds} s)")]
    TooManyRequests { retry_after_seconds: u64 },
    /// A dependency (database, NATS) is unreachable.
    #[error("dependency unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A validation error from `(field, failure)` pairs; fields that passed (`None`) are skipped.
    pub fn validation<'a>(checks: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Self {
        ApiError::Validation(
            checks
                .into_iter()
                .filter_map(|(field, failure)| {
                    failure.map(|message| ErrorEntry {
                        message: message.to_owned(),
                        field: Some(field.to_owned()),
                    })
                })
                .collect(),
        )
    }

    /// A validation error on a single field.
    pub fn field(field: &str, message: &str) -> Self {
        Self::validation([(field, Some(message))])
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(error.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotAuthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PaymentRefused(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn entries(&self) -> Vec<ErrorEntry> {
        let plain = |message: &str| {
            vec![ErrorEntry {
                message: message.to_owned(),
                field: None,
            }]
        };
        match self {
            ApiError::Validation(entries) => entries.clone(),
            ApiError::BadRequest(message)
            | ApiError::Conflict(message)
            | ApiError::PaymentRefused(message) => plain(message),
            ApiError::NotAuthorized => plain("Not authorized"),
            ApiError::NotFound => plain("Not Found"),
            ApiError::PayloadTooLarge => plain("Request body is larger than 64 KiB"),
            ApiError::MethodNotAllowed => plain("Method not allowed"),
            ApiError::HeadersTooLarge => plain("Request headers too large"),
            ApiError::TooManyRequests { .. } => plain("Too many attempts; try again later"),
            ApiError::Unavailable(_) => plain("Service unavailable"),
            ApiError::Internal(_) => plain("Something went wrong"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(error) => {
                tracing::error!(error = %format!("{error:#}"), "request failed")
            }
            ApiError::Unavailable(error) => {
                tracing::warn!(error = %format!("{error:#}"), "dependency unavailable")
            }
            _ => {}
        }
        let entries = self.entries();
        let mut response = (self.status(), Json(ErrorBody { errors: &entries })).into_response();
        if let ApiError::TooManyRequests {
            retry_after_seconds,
        } = self
        {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}

impl From<mongodb::error::Error> for ApiError {
    fn from(error: mongodb::error::Error) -> Self {
        if crate::mongo::is_unavailable(&error) {
            ApiError::Unavailable(error.into())
        } else {
            ApiError::Internal(error.into())
        }
    }
}
