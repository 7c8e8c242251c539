//! How an [`Error`] is shown to people: a friendly page with the right status.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::error::Error;
use crate::views::Viewer;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub viewer: Viewer,
    pub status: u16,
    pub heading: String,
    pub message: String,
    pub offer_sign_in: bool,
}

/// The page that tells what went wrong, in words for people.
fn page(error: &Error) -> ErrorPage {
    let page = |status: StatusCode, heading: &str, message: String| ErrorPage {
        viewer: Viewer::Unknown,
        status: status.as_u16(),
        heading: heading.to_owned(),
        message,
        offer_sign_in: status == StatusCode::UNAUTHORIZED,
    };
    match error {
        Error::NotFound => not_found(),
        Error::Refused { status, .. } if *status == StatusCode::NOT_FOUND => not_found(),
        Error::Refused { status, .. } if *status == StatusCode::UNAUTHORIZED => page(
            *status,
            "Please sign in",
            "You need to be signed in, with the account this page belongs to, to see it.".into(),
        ),
        Error::Refused { status, .. } => {
            page(*status, "That did not work", error.messages().join(" "))
        }
        Error::BadForm(_) => page(
            StatusCode::BAD_REQUEST,
            "That did not work",
            "The form could not be read. Please go back and try again.".into(),
        ),
        Error::CrossSite => page(
            StatusCode::FORBIDDEN,
            "That did not work",
            "This form was sent from another site. Please use the form on this site.".into(),
        ),
        Error::MethodNotAllowed => page(
            StatusCode::METHOD_NOT_ALLOWED,
            "That did not work",
            "This page cannot be used that way. Please go back and try again.".into(),
        ),
        Error::Unavailable(_) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "The ticketing service cannot be reached right now. Please try again in a moment."
                .into(),
        ),
        Error::Broken(_) | Error::Render(_) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Something went wrong on our side. Please try again in a moment.".into(),
        ),
    }
}

fn not_found() -> ErrorPage {
    ErrorPage {
        viewer: Viewer::Unknown,
        status: 404,
        heading: "Page not found".into(),
        message: "There is nothing here. The ticket or order may have been removed, or the address mistyped."
            .into(),
        offer_sign_in: false,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Error::Broken(_) | Error::Render(_) => tracing::error!(error = %self, "page failed"),
            Error::Unavailable(_) => tracing::warn!(error = %self, "API unavailable"),
            _ => {}
        }
        let page = page(&self);
        let status = StatusCode::from_u16(page.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // The error page is a template too; should even it fail, plain words still beat a bare status.
        let html = askama::Template::render(&page).unwrap_or_else(|_| {
            format!(
                "<!doctype html><html lang=\"en\"><title>Error</title><p>{}</p></html>",
                page.heading
            )
        });
        (status, Html(html)).into_response()
    }
}
