//! Request input: the JSON body and ids in the path, rejected in the contract's error shape.
//!
//! Bodies are taken as a JSON object and each resource parses the fields it needs into domain
//! types (parse, don't validate), so a wrong type is reported against its field like any other
//! invalid value instead of as an opaque deserialisation failure.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use bson::oid::ObjectId;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Largest accepted request body; larger ones are answered 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body that must be a JSON object.
#[derive(Debug, Clone, Default)]
pub struct JsonBody(pub Map<String, Value>);

impl JsonBody {
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|value| !value.is_null())
    }

    /// A string field, trimmed; `None` when missing, null, not a string or blank.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.get(field)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }

    /// An id field (24 hex digits); `None` when missing, null, not a string or not an id.
    pub fn object_id(&self, field: &str) -> Option<ObjectId> {
        self.text(field).and_then(parse_object_id)
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(Value::Object(map))) => Ok(JsonBody(map)),
            Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object")),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A request's input as the domain takes it, parsed from the body's JSON object by its own rules
/// (each invalid field reported against its name), so extractors such as
/// [`crate::rate_limit::LimitedRequest`] can hand a handler the parsed input.
pub trait ParseBody: Sized {
    fn parse(body: &JsonBody) -> Result<Self, ApiError>;
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge;
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad_request("Expected a JSON body (Content-Type: application/json)")
        }
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("Malformed JSON body"),
        JsonRejection::JsonDataError(_) => ApiError::bad_request("Invalid JSON body"),
        _ => ApiError::bad_request("Could not read the request body"),
    }
}

/// A resource id in the path (`/:id`), which must be a 24-hex ObjectId. Operations document it
/// with `params(IdPath)`, so the rule is written once, here, where it is enforced.
#[derive(Debug, Clone, Copy, utoipa::IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct IdPath(
    /// The resource's id, 24 hex digits
    #[param(value_type = String)]
    pub ObjectId,
);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_: PathRejection| ApiError::bad_request("Invalid id"))?;
        parse_object_id(&raw)
            .map(IdPath)
            .ok_or_else(|| ApiError::bad_request("Invalid id"))
    }
}

/// Parses a 24-hex ObjectId, `None` for anything else.
pub fn parse_object_id(raw: &str) -> Option<ObjectId> {
    ObjectId::parse_str(raw).ok()
}
