//! What can go wrong with an order, said once: routes turn it into the contract's answer,
//! listeners into "retry" or "never" — each variant decides which, here.

use common::ApiError;
use common::events::HandlerError;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("no such order")]
    NotFound,
    #[error("the order belongs to someone else")]
    NotOwner,
    #[error("no such ticket")]
    UnknownTicket,
    #[error("You cannot order your own ticket")]
    OwnTicket,
    #[error("Ticket has changed")]
    TicketChanged,
    #[error("Ticket is already reserved")]
    TicketReserved,
    #[error("Cannot cancel a completed order")]
    Completed,
    /// Optimistic writes kept losing to concurrent changes.
    #[error("Order has changed")]
    KeptChanging,
    /// An event names an order or ticket by an id that can not be one.
    #[error("malformed id {0:?}")]
    MalformedId(String),
    #[error(transparent)]
    Store(#[from] mongodb::error::Error),
}

pub type OrderResult<T> = Result<T, OrderError>;

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::NotFound | OrderError::UnknownTicket => ApiError::NotFound,
            OrderError::NotOwner => ApiError::NotAuthorized,
            OrderError::TicketChanged | OrderError::KeptChanging => {
                ApiError::Conflict(error.to_string())
            }
            OrderError::OwnTicket | OrderError::TicketReserved | OrderError::Completed => {
                ApiError::bad_request(error.to_string())
            }
            OrderError::MalformedId(_) => ApiError::NotFound,
            OrderError::Store(error) => error.into(),
        }
    }
}

impl From<OrderError> for HandlerError {
    fn from(error: OrderError) -> Self {
        match error {
            // Passing: the database is back, or the concurrent writer is done, soon.
            OrderError::Store(_) | OrderError::KeptChanging => HandlerError::Retry(error.into()),
            // The event can never be applied as it is.
            OrderError::NotFound
            | OrderError::NotOwner
            | OrderError::UnknownTicket
            | OrderError::OwnTicket
            | OrderError::TicketChanged
            | OrderError::TicketReserved
            | OrderError::Completed
            | OrderError::MalformedId(_) => HandlerError::Reject(error.into()),
        }
    }
}
