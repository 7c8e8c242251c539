//! What can go wrong with an order, said once: routes turn it into the contract's answer,
//! listeners into "retry" or "never" — each variant decides which, here.

use common::ApiError;
use common::events::HandlerError;

use crate::store::ticket_replica::Behind;

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
    /// The buyer saw a version of the ticket this service's replica has not reached in time.
    #[error("the ticket replica is behind the version the buyer saw")]
    ReplicaBehind,
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

impl From<Behind> for OrderError {
    fn from(error: Behind) -> Self {
        match error {
            Behind::Lagging => OrderError::ReplicaBehind,
            Behind::Store(error) => OrderError::Store(error),
        }
    }
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
            OrderError::ReplicaBehind => ApiError::Unavailable(error.into()),
            OrderError::Store(error) => error.into(),
        }
    }
}

impl From<OrderError> for HandlerError {
    fn from(error: OrderError) -> Self {
        match error {
            // Passing: the database is back, or the concurrent writer is done, soon.
            OrderError::Store(_) | OrderError::KeptChanging | OrderError::ReplicaBehind => {
                HandlerError::Retry(error.into())
            }
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
