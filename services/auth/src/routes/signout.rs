use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::IntoResponse;
use common::{ApiResult, Sessions};
use serde_json::json;

/// `POST /api/users/signout`: ends the session everywhere (its token is revoked for every
/// service) and clears the cookie.
pub async fn signout(
    State(sessions): State<Sessions>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    sessions.revoke(&headers).await?;
    Ok(([(SET_COOKIE, sessions.cleared_cookie())], Json(json!({}))))
}
