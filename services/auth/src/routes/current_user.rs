use axum::Json;
use common::{CurrentUser, UserClaims};
use serde::Serialize;
use utoipa::ToSchema;

/// Who the caller is: `null` without a valid session.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CurrentUserView {
    current_user: Option<UserClaims>,
}

/// `GET /api/users/currentuser`: who the session cookie says the caller is.
/// Needs no database: the signed token is the proof.
#[utoipa::path(get, path = "/api/users/currentuser", tag = super::TAG, operation_id = "currentUser",
    security((), ("session" = [])),
    responses((status = 200, description = "The session's user, or `null`", body = CurrentUserView)))]
pub async fn current_user(CurrentUser(user): CurrentUser) -> Json<CurrentUserView> {
    Json(CurrentUserView { current_user: user })
}
