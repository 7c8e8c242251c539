//! Extractors whose failures are pages rather than axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A resource id from the path. Ids are ObjectIds (24 hex digits); anything else names nothing,
/// and checking here also keeps a crafted id (`..%2F`) from changing the API path it goes into.
pub struct Id(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::NotFound)?;
        if id.len() == 24 && id.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            Ok(Id(id))
        } else {
            Err(Error::NotFound)
        }
    }
}

/// A submitted HTML form.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        axum::Form::<T>::from_request(request, state)
            .await
            .map(|axum::Form(value)| Form(value))
            .map_err(|rejection| Error::BadForm(rejection.body_text()))
    }
}
