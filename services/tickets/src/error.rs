//! What can go wrong with a ticket, said once: routes turn it into the contract's answer,
//! listeners into "retry" or "never" — each variant decides which, here.

use common::ApiError;
use common::events::HandlerError;

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("no such ticket")]
    NotFound,
    #[error("the ticket belongs to someone else")]
    NotOwner,
    #[error("Cannot edit a reserved ticket")]
    Reserved,
    /// Optimistic writes kept losing to concurrent changes.
    #[error("Ticket has changed")]
    KeptChanging,
    /// An order's reservation waits for the cancellation of the order holding the ticket (the
    /// orders service lets one order at a time hold a ticket, so it is on its way).
    #[error("ticket {ticket} is held by order {holder}, whose cancellation has not arrived yet")]
    HeldByAnotherOrder { ticket: String, holder: String },
    /// An event names a ticket by an id that can not be one.
    #[error("malformed ticket id {0:?}")]
    MalformedId(String),
    #[error("the listing could not be encoded: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] mongodb::error::Error),
}

pub type TicketResult<T> = Result<T, TicketError>;

impl From<TicketError> for ApiError {
    fn from(error: TicketError) -> Self {
        match error {
            TicketError::NotFound | TicketError::MalformedId(_) => ApiError::NotFound,
            TicketError::NotOwner => ApiError::NotAuthorized,
            TicketError::Reserved => ApiError::bad_request(error.to_string()),
            TicketError::KeptChanging | TicketError::HeldByAnotherOrder { .. } => {
                ApiError::Conflict(TicketError::KeptChanging.to_string())
            }
            TicketError::Encoding(error) => ApiError::Internal(error.into()),
            TicketError::Store(error) => error.into(),
        }
    }
}

impl From<TicketError> for HandlerError {
    fn from(error: TicketError) -> Self {
        match error {
            // Passing: the database is back, the concurrent writer is done, or the holder's
            // cancellation arrives, soon.
            TicketError::Store(_)
            | TicketError::KeptChanging
            | TicketError::HeldByAnotherOrder { .. } => HandlerError::Retry(error.into()),
            // The event can never be applied as it is.
            TicketError::NotFound
            | TicketError::NotOwner
            | TicketError::Reserved
            | TicketError::MalformedId(_)
            | TicketError::Encoding(_) => HandlerError::Reject(error.into()),
        }
    }
}
