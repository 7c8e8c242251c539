use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::api_docs::ErrorBody;
use common::rate_limit::ClientAddress;
use common::{ApiResult, JsonBody, Sessions};

use crate::models::user::{Credentials, CredentialsInput, UserView};
use crate::state::SignInLimits;
use crate::store::Users;

/// `POST /api/users/signup`: creates the account and signs it in.
#[utoipa::path(post, path = "/api/users/signup", tag = super::TAG, operation_id = "signUp",
    request_body = CredentialsInput,
    responses(
        (status = 201, description = "Signed up and signed in", body = UserView,
            headers(("Set-Cookie" = String, description = "The `session` cookie"))),
        (status = 400, description = "`Email must be valid`, `Password must be between 4 and 20 \
            characters`, `Email in use`; or a body that is not a JSON object", body = ErrorBody),
        (status = 429, description = "Too many sign-ins and sign-ups from this address or for \
            this email", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
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
