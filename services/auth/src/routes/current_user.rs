use axum::Json;
use common::CurrentUser;
use serde_json::{Value, json};

/// `GET /api/users/currentuser`: who the session cookie says the caller is.
/// Needs no database: the signed token is the proof.
pub async fn current_user(CurrentUser(user): CurrentUser) -> Json<Value> {
    Json(json!({ "currentUser": user }))
}
