//! The orders collection: reservations, their confirmation or refusal, cancellations, expiries
//! and completions, every change written with its event.

use std::time::Duration;

use chrono::Utc;
use common::bson::{self, doc, oid::ObjectId};
use common::events::outbox::{outbox_of, with_event};
use common::events::{
    HandlerError, HandlerResult, OrderCancelled, OrderConfirmed, OrderStatus, Outbox, PaymentState,
    TICKET_CHANGED, TicketRef, TicketReservationRefused, update_if_current,
};
use common::metrics::{self, counter};
use common::mongo::{self, CollectionSchema, ResultExt};
use futures::TryStreamExt;
use mongodb::{Collection, Database};

use super::ticket_replica::TicketReplica;
use crate::error::{OrderError, OrderResult};
use crate::models::order::{CANCELLED_BY_BUYER, EXPIRED, Order, OrderRequest, TicketSnapshot};

const WRITE_ATTEMPTS: usize = 5;

/// How long an order waits for the ticket replica to reach the version the buyer saw (events
/// take milliseconds; this covers a busy moment, not an outage).
const REPLICA_CATCH_UP: Duration = Duration::from_secs(2);

/// The orders collection; every change records its event in the same write.
#[derive(Clone)]
pub struct Orders {
    collection: Collection<Order>,
    tickets: TicketReplica,
    outbox: Outbox,
    window: Duration,
}

impl Orders {
    pub const COLLECTION: &'static str = "orders";

    /// The collection with its outbox; the unique index on the ticket an order holds is what
    /// makes reservation atomic.
    pub fn schema() -> CollectionSchema {
        let by_user = mongo::index(doc! { "userId": 1, "_id": 1 }, "userId_1__id_1");
        let one_active_order_per_ticket = mongo::unique_index(
            doc! { "activeTicket": 1 },
            "one_active_order_per_ticket",
            true,
        );
        CollectionSchema::new(Self::COLLECTION)
            .index(one_active_order_per_ticket)
            .index(by_user)
            .with_outbox()
    }

    pub fn new(db: &Database, tickets: TicketReplica, outbox: Outbox, window: Duration) -> Self {
        Self {
            collection: db.collection(Self::COLLECTION),
            tickets,
            outbox,
            window,
        }
    }

    /// Reserves the ticket for `user_id`; exactly one of any number of concurrent calls wins.
    pub async fn reserve(&self, user_id: &str, request: OrderRequest) -> OrderResult<Order> {
        let ticket = self
            .tickets
            .at_least(request.ticket_id, request.ticket_version, REPLICA_CATCH_UP)
            .await?
            .ok_or(OrderError::UnknownTicket)?;
        if ticket.seller_id == user_id {
            return Err(OrderError::OwnTicket);
        }
        if request
            .ticket_version
            .is_some_and(|seen| seen != ticket.version)
        {
            return Err(OrderError::TicketChanged);
        }
        // Whole milliseconds, so the stored time, the API and the event agree exactly.
        let expires_at = bson::DateTime::from_millis((Utc::now() + self.window).timestamp_millis());
        let mut order = Order {
            id: ObjectId::new(),
            user_id: user_id.to_owned(),
            status: OrderStatus::Created,
            expires_at,
            version: 0,
            ticket: TicketSnapshot {
                id: ticket.id.to_hex(),
                title: ticket.title.clone(),
                price: ticket.price,
                version: ticket.version,
            },
            active_ticket: Some(ticket.id.to_hex()),
            reason: None,
            outbox: Vec::new(),
        };
        order.outbox = outbox_of(&order.created_event());
        self.collection
            .insert_one(&order)
            .await
            .on_duplicate_key(|| OrderError::TicketReserved)?;
        self.outbox.wake();
        order.outbox.clear();
        counted("created");
        Ok(order)
    }

    pub async fn of_user(&self, user_id: &str) -> OrderResult<Vec<Order>> {
        let cursor = self
            .collection
            .find(doc! { "userId": user_id })
            .sort(doc! { "_id": 1 })
            .projection(doc! { "outbox": 0 })
            .await?;
        Ok(cursor.try_collect().await?)
    }

    async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<Order>> {
        self.collection
            .find_one(doc! { "_id": id })
            .projection(doc! { "outbox": 0 })
            .await
    }

    /// The order, if it exists (404) and belongs to `user_id` (401).
    pub async fn owned_by(&self, id: ObjectId, user_id: &str) -> OrderResult<Order> {
        let order = self.find(id).await?.ok_or(OrderError::NotFound)?;
        if order.user_id != user_id {
            return Err(OrderError::NotOwner);
        }
        Ok(order)
    }

    /// Cancels a pending order for `reason` and frees its ticket; a cancelled one stays as it is
    /// (nothing published); a completed one is refused.
    pub async fn cancel(&self, mut order: Order, reason: &str) -> OrderResult<()> {
        for _ in 0..WRITE_ATTEMPTS {
            match order.status {
                OrderStatus::Complete => {
                    return Err(OrderError::Completed);
                }
                OrderStatus::Cancelled => return Ok(()),
                OrderStatus::Created | OrderStatus::AwaitingPayment => {}
            }
            let event = OrderCancelled {
                id: order.id.to_hex(),
                version: order.version + 1,
                ticket: TicketRef {
                    id: order.ticket.id.clone(),
                },
            };
            let update = doc! {
                "$set": { "status": OrderStatus::Cancelled.as_str(), "reason": reason },
                "$unset": { "activeTicket": "" },
            };
            if update_if_current(
                &self.collection,
                doc! { "_id": order.id },
                order.version,
                with_event(update, &event),
            )
            .await?
            .is_some()
            {
                self.outbox.wake();
                counted(match reason {
                    EXPIRED => "expired",
                    CANCELLED_BY_BUYER => "cancelled",
                    _ => "refused",
                });
                return Ok(());
            }
            order = self.find(order.id).await?.ok_or(OrderError::NotFound)?;
        }
        Err(OrderError::KeptChanging)
    }

    /// `expiration.complete`: an order still pending is cancelled, unless the payments service —
    /// which records a payment before it announces it — says it is paid (asked through
    /// `payment_state`, which also closes the order to payment there): then it completes. While
    /// payments can not answer (down, or a charge in progress) the expiration is retried.
    pub async fn expire(
        &self,
        order_id: &str,
        payment_state: impl Future<Output = Result<PaymentState, HandlerError>>,
    ) -> HandlerResult {
        let Some(order) = self.find(object_id(order_id)?).await? else {
            return Err(OrderError::NotFound.into());
        };
        if !order.status.is_pending() {
            return Ok(());
        }
        match payment_state.await? {
            PaymentState::Paid => self.complete(order_id).await,
            PaymentState::Closed => Ok(self.cancel(order, EXPIRED).await?),
        }
    }

    /// `ticket.updated` holding the ticket for `order_id`: the tickets service confirmed the
    /// reservation, so the order awaits payment (and says so with `order.confirmed`). An order
    /// that is no longer `created` stays as it is.
    pub async fn confirm(&self, order_id: &str) -> HandlerResult {
        let id = object_id(order_id)?;
        for _ in 0..WRITE_ATTEMPTS {
            let Some(order) = self.find(id).await? else {
                // Tickets holds for an order only once it read its `order.created`, which the
                // orders service wrote: this is another fleet's order, on a shared NATS.
                tracing::warn!(order = order_id, "confirmation of an unknown order ignored");
                return Ok(());
            };
            if order.status != OrderStatus::Created {
                return Ok(());
            }
            let event = OrderConfirmed {
                id: order_id.to_owned(),
                version: order.version + 1,
                ticket: TicketRef {
                    id: order.ticket.id.clone(),
                },
            };
            let update = doc! { "$set": { "status": OrderStatus::AwaitingPayment.as_str() } };
            if update_if_current(
                &self.collection,
                doc! { "_id": id, "status": OrderStatus::Created.as_str() },
                order.version,
                with_event(update, &event),
            )
            .await?
            .is_some()
            {
                self.outbox.wake();
                counted("confirmed");
                return Ok(());
            }
        }
        Err(OrderError::KeptChanging.into())
    }

    /// `ticket.reservation-refused`: the seller changed the ticket after the version the order
    /// was priced at, so the order is cancelled with that reason (before any payment is kept:
    /// payments refunds one that raced this).
    pub async fn refused(&self, refusal: &TicketReservationRefused) -> HandlerResult {
        let Some(order) = self.find(object_id(&refusal.order_id)?).await? else {
            tracing::warn!(order = %refusal.order_id, "refusal of an unknown order ignored");
            return Ok(());
        };
        if !order.status.is_pending() {
            return Ok(());
        }
        let reason = match refusal.reason.as_str() {
            "" => TICKET_CHANGED,
            reason => reason,
        };
        Ok(self.cancel(order, reason).await?)
    }

    /// `payment.created`: the order is paid.
    pub async fn complete(&self, order_id: &str) -> HandlerResult {
        let id = object_id(order_id)?;
        for _ in 0..WRITE_ATTEMPTS {
            let Some(order) = self.find(id).await? else {
                return Err(OrderError::NotFound.into());
            };
            match order.status {
                OrderStatus::Complete => return Ok(()),
                OrderStatus::Cancelled => {
                    // The charge raced the cancellation (an expiry). The ticket may already be
                    // someone else's, so the order stays cancelled; payments refunds the charge.
                    tracing::warn!(
                        order = order_id,
                        "payment for a cancelled order: payments refunds it"
                    );
                    return Ok(());
                }
                OrderStatus::Created | OrderStatus::AwaitingPayment => {}
            }
            let update = doc! { "$set": { "status": OrderStatus::Complete.as_str() } };
            if update_if_current(&self.collection, doc! { "_id": id }, order.version, update)
                .await?
                .is_some()
            {
                counted("completed");
                return Ok(());
            }
        }
        Err(OrderError::KeptChanging.into())
    }
}

/// Counts an order reaching `outcome` ([`metrics::ORDERS`]), once: after the write that made it so.
fn counted(outcome: &'static str) {
    counter!(metrics::ORDERS, "outcome" => outcome).increment(1);
}

fn object_id(raw: &str) -> OrderResult<ObjectId> {
    ObjectId::parse_str(raw).map_err(|_| OrderError::MalformedId(raw.to_owned()))
}
