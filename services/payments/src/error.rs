//! What can go wrong with a payment, said once: routes turn it into the contract's answer,
//! listeners and the orders service's question into "retry" or "never" — each variant decides.

use common::ApiError;
use common::events::HandlerError;

pub const NOT_CONFIRMED: &str = "The reservation is not confirmed yet; try again in a moment";
pub const CHARGE_FAILED: &str = "The card could not be charged; try again or use another card";

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("no such order")]
    NotFound,
    #[error("the order belongs to someone else")]
    NotOwner,
    #[error("Cannot pay for a cancelled order")]
    Cancelled,
    #[error("Order is already paid")]
    AlreadyPaid,
    #[error("A payment for this order is already in progress")]
    InProgress,
    #[error("{NOT_CONFIRMED}")]
    NotConfirmed,
    /// The card was refused; the processor's message for the buyer.
    #[error("{0}")]
    Declined(String),
    /// The processor failed the charge: nothing was charged.
    #[error("{CHARGE_FAILED}")]
    ChargeFailed,
    /// The processor could not be reached (it is unknown whether money moved), or a refund
    /// failed.
    #[error("payment processor: {0}")]
    Processor(String),
    #[error("malformed order id {0:?}")]
    MalformedId(String),
    #[error(transparent)]
    Store(#[from] mongodb::error::Error),
}

pub type PaymentResult<T> = Result<T, PaymentError>;

impl PaymentError {
    /// Whether asking again later may succeed: the database or the processor is back, or a
    /// payment in progress is over.
    pub fn is_passing(&self) -> bool {
        matches!(
            self,
            PaymentError::Store(_) | PaymentError::Processor(_) | PaymentError::InProgress
        )
    }
}

impl From<PaymentError> for ApiError {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::NotFound | PaymentError::MalformedId(_) => ApiError::NotFound,
            PaymentError::NotOwner => ApiError::NotAuthorized,
            PaymentError::Cancelled | PaymentError::AlreadyPaid | PaymentError::InProgress => {
                ApiError::bad_request(error.to_string())
            }
            PaymentError::NotConfirmed => ApiError::Conflict(error.to_string()),
            PaymentError::Declined(message) => ApiError::PaymentRefused(message),
            PaymentError::ChargeFailed => ApiError::PaymentRefused(error.to_string()),
            PaymentError::Processor(_) => ApiError::Unavailable(error.into()),
            PaymentError::Store(error) => error.into(),
        }
    }
}

impl From<PaymentError> for HandlerError {
    fn from(error: PaymentError) -> Self {
        match error.is_passing() {
            true => HandlerError::Retry(error.into()),
            false => HandlerError::Reject(error.into()),
        }
    }
}
