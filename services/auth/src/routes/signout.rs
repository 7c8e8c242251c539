use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::IntoResponse;
use common::Sessions;
use serde_json::json;

/// `POST /api/users/signout`: clears the session cookie.
pub async fn signout(State(sessions): State<Sessions>) -> impl IntoResponse {
    ([(SET_COOKIE, sessions.cleared_cookie())], Json(json!({})))
}
