//! The one error type of the client's handlers (and of its API calls); `error_page` shows it to
//! people as a friendly page.

use axum::http::StatusCode;

use crate::contract::Message;

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
    /// A form posted from another site's page (its `Origin` or `Referer` names another host).
    #[error("cross-site form post")]
    CrossSite,
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

    /// The messages of a refusal, e.g. to show on a form.
    pub fn messages(&self) -> Vec<String> {
        match self {
            Error::Refused { errors, .. } => {
                errors.iter().map(|error| error.message.clone()).collect()
            }
            _ => Vec::new(),
        }
    }
}
