use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use common::api_docs::ErrorBody;
use common::rate_limit::ClientAddress;
use common::{ApiResult, JsonBody, Sessions};

use crate::models::user::{Credentials, CredentialsInput, UserView};
use crate::state::SignInLimits;
use crate::store::Users;

/// `POST /api/users/signin`: checks the credentials and starts a session.
#[utoipa::path(post, path = "/api/users/signin", tag = super::TAG, operation_id = "signIn",
    request_body = CredentialsInput,
    responses(
        (status = 200, description = "Signed in", body = UserView,
            headers(("Set-Cookie" = String, description = "The `session` cookie"))),
        (status = 400, description = "`Email must be valid`, `You must supply a password`, \
            `Invalid credentials`; or a body that is not a JSON object", body = ErrorBody),
        (status = 429, description = "Too many sign-ins and sign-ups from this address or for \
            this email", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
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
