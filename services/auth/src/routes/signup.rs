use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::rate_limit::ClientAddress;
use common::{ApiResult, JsonBody, Sessions};

use crate::models::user::Credentials;
use crate::state::SignInLimits;
use crate::store::Users;

/// `POST /api/users/signup`: creates the account and signs it in.
pub async fn signup(
    State(users): State<Users>,
    State(sessions): State<Sessions>,
    State(limits): State<SignInLimits>,
    ClientAddress(address): ClientAddress,
    body: JsonBody,
) -> ApiResult<impl IntoResponse> {
    let credentials = Credentials::parse_new(&body)?;
    limits.check(address, &credentials)?;
    let user = users.create(credentials).await?;
    let token = sessions.issue(user.id, &user.email)?;
    Ok((
        StatusCode::CREATED,
        sessions.set_cookie_header(&token),
        Json(user.view()),
    ))
}
