use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use common::rate_limit::ClientAddress;
use common::{ApiResult, JsonBody, Sessions};

use crate::models::user::Credentials;
use crate::state::SignInLimits;
use crate::store::Users;

/// `POST /api/users/signin`: checks the credentials and starts a session.
pub async fn signin(
    State(users): State<Users>,
    State(sessions): State<Sessions>,
    State(limits): State<SignInLimits>,
    ClientAddress(address): ClientAddress,
    body: JsonBody,
) -> ApiResult<impl IntoResponse> {
    let credentials = Credentials::parse_existing(&body)?;
    limits.check(address, &credentials)?;
    let user = users.authenticate(credentials).await?;
    let token = sessions.issue(user.id, &user.email)?;
    Ok((sessions.set_cookie_header(&token), Json(user.view())))
}
