//! The one error type of the client's handlers, shown to people as a friendly page.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::api::Message;
use crate::views::{ErrorPage, FormErrors, Viewer};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API refused the request (a 4xx with the contract's error body).
    #[error("the API refused the request: {status}")]
    Refused {
        status: StatusCode,
        errors: Vec<Message>,
    },
    /// No such page, or an id that cannot name anything.
    #[error("not found")]
    NotFound,
    /// A form body that no page of ours sends.
    #[error("unreadable form: {0}")]
    BadForm(String),
    /// A page asked for with a method it does not take (e.g. a form posted to a page that only
    /// shows).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The API could not be reached, or said it is unavailable.
    #[error("API unavailable: {0}")]
    Unavailable(String),
    /// The API answered outside the contract (a 500, an unreadable body).
    #[error("API failed: {0}")]
    Broken(String),
    #[error("template failed: {0}")]
    Render(#[from] askama::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What the API answers a visitor who is not signed in, for pages that check first.
    pub fn not_authorized() -> Self {
        Error::Refused {
            status: StatusCode::UNAUTHORIZED,
            errors: vec![Message {
                message: "Not authorized".into(),
                field: None,
            }],
        }
    }

    /// A validation or business-rule refusal (400) is shown on the form that was sent; anything
    /// else stays an error page.
    pub fn for_form(self, fields: &[&str]) -> Result<(StatusCode, FormErrors)> {
        match self {
            Error::Refused { status, errors } if status == StatusCode::BAD_REQUEST => {
                Ok((status, FormErrors::new(errors, fields)))
            }
            other => Err(other),
        }
    }

    /// The messages of a refusal, e.g. to show on a form.
    pub fn messages(&self) -> Vec<String> {
        match self {
            Error::Refused { errors, .. } => {
                errors.iter().map(|error| error.message.clone()).collect()
            }
            _ => Vec::new(),
        }
    }

    fn page(&self) -> ErrorPage {
        let page = |status: StatusCode, heading: &str, message: String| ErrorPage {
            viewer: Viewer::Unknown,
            status: status.as_u16(),
            heading: heading.to_owned(),
            message,
            offer_sign_in: status == StatusCode::UNAUTHORIZED,
        };
        match self {
            Error::NotFound => not_found(),
            Error::Refused { status, .. } if *status == StatusCode::NOT_FOUND => not_found(),
            Error::Refused { status, .. } if *status == StatusCode::UNAUTHORIZED => page(
                *status,
                "Please sign in",
                "You need to be signed in, with the account this page belongs to, to see it."
                    .into(),
            ),
            Error::Refused { status, .. } => {
                page(*status, "That did not work", self.messages().join(" "))
            }
            Error::BadForm(_) => page(
                StatusCode::BAD_REQUEST,
                "That did not work",
                "The form could not be read. Please go back and try again.".into(),
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
        let page = self.page();
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
