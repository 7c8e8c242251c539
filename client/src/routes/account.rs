use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::extract::Form;
use crate::api::{Api, Browser};
use crate::error::Result;
use crate::views::{AuthForm, AuthPage, FormErrors, Viewer, render};

const FIELDS: &[&str] = &["email", "password"];

/// The form as sent, and the API's `{email, password}` body. Missing fields are empty, so the
/// API's own messages say what is wrong.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn signup_form(State(api): State<Api>, browser: Browser) -> Result<Response> {
    page(
        &api,
        &browser,
        AuthForm::SignUp,
        String::new(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn signin_form(State(api): State<Api>, browser: Browser) -> Result<Response> {
    page(
        &api,
        &browser,
        AuthForm::SignIn,
        String::new(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn signup(
    State(api): State<Api>,
    browser: Browser,
    Form(form): Form<Credentials>,
) -> Result<Response> {
    submit(&api, &browser, AuthForm::SignUp, form).await
}

pub async fn signin(
    State(api): State<Api>,
    browser: Browser,
    Form(form): Form<Credentials>,
) -> Result<Response> {
    submit(&api, &browser, AuthForm::SignIn, form).await
}

/// `/auth/signout` (a link or the header's button): the API clears the cookie, the browser goes home.
pub async fn signout(State(api): State<Api>, browser: Browser) -> Result<Response> {
    let reply = api
        .post::<Value>("/api/users/signout", &browser, &json!({}))
        .await?;
    Ok((reply.cookies, Redirect::to("/")).into_response())
}

/// Signs up or in through the API; its session cookie goes to the browser with the redirect home.
async fn submit(
    api: &Api,
    browser: &Browser,
    form: AuthForm,
    credentials: Credentials,
) -> Result<Response> {
    let path = match form {
        AuthForm::SignUp => "/api/users/signup",
        AuthForm::SignIn => "/api/users/signin",
    };
    match api.post::<Value>(path, browser, &credentials).await {
        Ok(reply) => Ok((reply.cookies, Redirect::to("/")).into_response()),
        Err(error) => {
            let (status, errors) = FormErrors::from_refusal(error, FIELDS)?;
            page(api, browser, form, credentials.email, errors, status).await
        }
    }
}

async fn page(
    api: &Api,
    browser: &Browser,
    form: AuthForm,
    email: String,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response> {
    let viewer = Viewer::from_user(api.current_user(browser).await);
    render(
        status,
        &AuthPage {
            viewer,
            form,
            email,
            errors,
        },
    )
}
