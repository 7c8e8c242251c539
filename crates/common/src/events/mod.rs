//! Events over NATS JetStream: the contracts, the bus, listeners, the outbox relay, the
//! versioned-concurrency helpers, and questions to a fact's owner (request-reply).

pub mod bus;
pub mod contracts;
pub mod listener;
pub mod outbox;
pub mod queries;
pub mod versioned;

pub use bus::{BusError, EventBus, Namespace};
pub use contracts::*;
pub use listener::{HandlerError, HandlerResult};
pub use outbox::{Outbox, OutboxRelay, PendingEvent};
pub use queries::{ClosePayment, PaymentState, Query};
pub use versioned::{Applied, apply_in_order, update_if_current};
