use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::IntoResponse;
use common::{ApiResult, Sessions};
use serde::Serialize;
use utoipa::ToSchema;

/// The answer to a sign-out: `{}`.
#[derive(Serialize, ToSchema)]
pub struct SignedOut {}

/// `POST /api/users/signout`: ends the session everywhere (its token is revoked for every
/// service) and clears the cookie.
#[utoipa::path(post, path = "/api/users/signout", tag = super::TAG, operation_id = "signOut",
    security((), ("session" = [])),
    responses(
        (status = 200, description = "Signed out: the cookie is cleared and the session revoked \
            in every service", body = SignedOut,
            headers(("Set-Cookie" = String, description = "The cleared `session` cookie"))),
        (status = 503, description = "NATS is unreachable: the session is not revoked",
            body = common::api_docs::ErrorBody),
    ))]
pub async fn signout(
    State(sessions): State<Sessions>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    sessions.revoke(&headers).await?;
    Ok((
        [(SET_COOKIE, sessions.cleared_cookie())],
        Json(SignedOut {}),
    ))
}
