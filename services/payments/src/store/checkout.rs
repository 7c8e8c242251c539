//! The payments collection and the charging procedure: the claim on the order, the charge, and
//! the record with its event.

use common::bson::{doc, oid::ObjectId};
use common::events::outbox::outbox_of;
use common::events::{
    HandlerResult, OrderCancelled, OrderStatus, Outbox, PaymentCreated, PaymentState,
};
use common::metrics::{self, counter};
use common::mongo::{CollectionSchema, ResultExt, unique_index};
use mongodb::{Collection, Database};

use super::order_replica::OrderReplica;
use crate::error::{PaymentError, PaymentResult};
use crate::models::order::{Closing, Order, STALE_CLAIM};
use crate::models::payment::{Payment, PaymentRequest, idempotency_key};
use crate::stripe::{ChargeOutcome, Stripe};

/// How long a payment waits for the order's reservation to be confirmed.
const CONFIRMATION_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
const CONFIRMATION_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// The payments collection and the charging procedure.
#[derive(Clone)]
pub struct Checkout {
    payments: Collection<Payment>,
    orders: OrderReplica,
    stripe: Stripe,
    outbox: Outbox,
}

impl Checkout {
    pub const COLLECTION: &'static str = "payments";

    /// The collection with its outbox; one payment per order, whatever else goes wrong.
    pub fn schema() -> CollectionSchema {
        let one_per_order = unique_index(doc! { "orderId": 1 }, "one_payment_per_order", false);
        CollectionSchema::new(Self::COLLECTION)
            .index(one_per_order)
            .with_outbox()
    }

    pub fn new(db: &Database, orders: OrderReplica, stripe: Stripe, outbox: Outbox) -> Self {
        Self {
            payments: db.collection(Self::COLLECTION),
            orders,
            stripe,
            outbox,
        }
    }

    /// Charges the caller's order once: the payment, or why not.
    pub async fn pay(&self, user_id: &str, request: PaymentRequest) -> PaymentResult<Payment> {
        let order = self.find(request.order_id).await?;
        if order.user_id != user_id {
            return Err(PaymentError::NotOwner);
        }
        self.refuse_unpayable(&order).await?;
        let order = self.confirmed(order).await?;
        if !self.orders.claim(&order, &request.token).await? {
            // Someone else is paying, or the order changed since we read it.
            self.refuse_unpayable(&self.find(order.id).await?).await?;
            return Err(PaymentError::InProgress);
        }
        if let Some(stale) = order
            .claim
            .as_ref()
            .filter(|stale| stale.token != request.token)
        {
            // A payment died holding the claim: finish (or rule out) its charge before a new one.
            if let ChargeOutcome::Charged(stripe_id) = self.charge(&order, &stale.token).await {
                self.record(&order, stripe_id).await?;
                return Err(PaymentError::AlreadyPaid);
            }
        }
        match self.charge(&order, &request.token).await {
            ChargeOutcome::Charged(stripe_id) => {
                let payment = self.record(&order, stripe_id).await?;
                // The order may have been cancelled (its reservation refused) while the card was
                // charged; the cancellation's listener refunds too, so whichever comes second
                // does it.
                if self.refund_if_cancelled(order.id).await? {
                    return Err(PaymentError::Cancelled);
                }
                Ok(payment)
            }
            ChargeOutcome::Declined(message) => {
                counted("declined");
                self.orders.release(order.id, &request.token).await?;
                Err(PaymentError::Declined(message))
            }
            ChargeOutcome::Failed(error) => {
                // Nothing charged: the order is free for another attempt, with any card.
                tracing::warn!(order = %order.id, %error, "the processor failed the charge");
                counted("failed");
                self.orders.release(order.id, &request.token).await?;
                Err(PaymentError::ChargeFailed)
            }
            // Money may have moved: keep the claim, so only a retry of this very payment (same
            // idempotency key) or the settler can go on.
            ChargeOutcome::Unknown(error) => Err(PaymentError::Processor(error)),
        }
    }

    /// Charges the order's price to `token`, under the key of that order and card.
    async fn charge(&self, order: &Order, token: &str) -> ChargeOutcome {
        let key = idempotency_key(order.id, token);
        self.stripe
            .charge(&order.id.to_hex(), order.price, token, &key)
            .await
    }

    async fn find(&self, order_id: ObjectId) -> PaymentResult<Order> {
        self.orders
            .find(order_id)
            .await?
            .ok_or(PaymentError::NotFound)
    }

    /// `order.cancelled`: the replica follows, and a payment that beat the cancellation to the
    /// order is refunded.
    pub async fn order_cancelled(&self, event: &OrderCancelled) -> HandlerResult {
        self.orders.cancelled(event).await?;
        self.refund_if_cancelled(object_id(&event.id)?).await?;
        Ok(())
    }

    /// Refunds the order's payment if the order is cancelled and the payment not yet refunded;
    /// whether the order is cancelled and paid (so refunded, now or before).
    async fn refund_if_cancelled(&self, order_id: ObjectId) -> PaymentResult<bool> {
        let cancelled = self
            .orders
            .find(order_id)
            .await?
            .is_some_and(|order| order.status == OrderStatus::Cancelled);
        let Some(payment) = self.paid(order_id).await?.filter(|_| cancelled) else {
            return Ok(false);
        };
        if payment.refund_id.is_none() {
            let key = format!("refund:{}", payment.order_id);
            let refund_id = self
                .stripe
                .refund(&payment.stripe_id, &key)
                .await
                .map_err(|error| PaymentError::Processor(format!("refund: {error}")))?;
            tracing::warn!(order = %payment.order_id, %refund_id, "paid order was cancelled: refunded");
            self.payments
                .update_one(
                    doc! { "_id": payment.id },
                    doc! { "$set": { "refundId": refund_id } },
                )
                .await?;
            counted("refunded");
        }
        Ok(true)
    }

    /// The order once the tickets service has confirmed its reservation (`order.confirmed`),
    /// which normally follows its creation within milliseconds: waited for up to
    /// [`CONFIRMATION_WAIT`], then 409, so no card is charged for a reservation that may still be
    /// refused. Never past the order's expiry: its expiration cancels it then.
    async fn confirmed(&self, mut order: Order) -> PaymentResult<Order> {
        let deadline = tokio::time::Instant::now() + CONFIRMATION_WAIT;
        while order.status == OrderStatus::Created {
            if window_passed(&order) {
                return Err(PaymentError::Cancelled);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PaymentError::NotConfirmed);
            }
            tokio::time::sleep(CONFIRMATION_POLL).await;
            order = self.find(order.id).await?;
        }
        self.refuse_unpayable(&order).await?;
        Ok(order)
    }

    async fn refuse_unpayable(&self, order: &Order) -> PaymentResult<()> {
        if order.status == OrderStatus::Complete {
            return Err(PaymentError::AlreadyPaid);
        }
        if self.paid(order.id).await?.is_some() {
            // Recorded by a payment that died before it marked the replica paid: finish that.
            self.orders.paid(order.id).await?;
            return Err(PaymentError::AlreadyPaid);
        }
        if order.status == OrderStatus::Cancelled || order.closed || window_passed(order) {
            return Err(PaymentError::Cancelled);
        }
        Ok(())
    }

    async fn paid(&self, order_id: ObjectId) -> mongodb::error::Result<Option<Payment>> {
        self.payments
            .find_one(doc! { "orderId": order_id.to_hex() })
            .await
    }

    /// Settles payments that died holding their claim (a crash between charging and recording).
    pub async fn settle_stale_claims(&self) -> PaymentResult<()> {
        for order in self.orders.stale_claims().await? {
            self.settle(&order).await?;
        }
        Ok(())
    }

    /// Settles the payment that died holding `order`'s claim: replays the charge under the same
    /// idempotency key, so Stripe answers with what happened (or makes it happen, as the buyer
    /// asked), then records it — refunded if the order was cancelled meanwhile — or frees the
    /// order after a decline. `false` when Stripe can not tell yet.
    async fn settle(&self, order: &Order) -> PaymentResult<bool> {
        let Some(claim) = order.claim.clone() else {
            return Ok(true);
        };
        match self.paid(order.id).await? {
            // Recorded by a payment that died (or lost its database) before it marked the
            // replica paid: finish that.
            Some(_) => self.orders.paid(order.id).await?,
            None => match self.charge(order, &claim.token).await {
                ChargeOutcome::Charged(stripe_id) => {
                    self.record(order, stripe_id).await?;
                }
                ChargeOutcome::Declined(_) | ChargeOutcome::Failed(_) => {}
                ChargeOutcome::Unknown(error) => {
                    tracing::warn!(order = %order.id, %error, "stale payment not settled yet");
                    return Ok(false);
                }
            },
        }
        self.refund_if_cancelled(order.id).await?;
        self.orders.release(order.id, &claim.token).await?;
        tracing::warn!(order = %order.id, "settled a payment that had died mid-way");
        Ok(true)
    }

    /// The order's window has passed (the orders service asks,
    /// [`common::events::ClosePayment`]): closes it to payment and says whether it was paid. A
    /// payment in progress finishes first (the asker retries); one that died mid-way is settled
    /// now.
    pub async fn close(&self, order_id: &str) -> PaymentResult<PaymentState> {
        let id = object_id(order_id)?;
        let closing = self.orders.close(id).await?;
        // Recorded payments win, whether or not a claim still holds the order: a payment is
        // recorded while its claim holds the order, and `close` takes none while one does.
        if self.paid(id).await?.is_some() {
            self.orders.paid(id).await?;
            return Ok(PaymentState::Paid);
        }
        match closing {
            Closing::Closed => Ok(PaymentState::Closed),
            Closing::Held(claim) if claim.at.to_chrono() < chrono::Utc::now() - STALE_CLAIM => {
                self.settle(&self.find(id).await?).await?;
                // Settled (or not yet): asked again, the answer is the recorded one.
                Err(PaymentError::InProgress)
            }
            Closing::Held(_) => Err(PaymentError::InProgress),
        }
    }

    /// Stores the payment with its `payment.created` event; a retry finds the first record.
    async fn record(&self, order: &Order, stripe_id: String) -> PaymentResult<Payment> {
        let mut payment = Payment {
            id: ObjectId::new(),
            order_id: order.id.to_hex(),
            stripe_id,
            refund_id: None,
            outbox: Vec::new(),
        };
        payment.outbox = outbox_of(&PaymentCreated {
            id: payment.id.to_hex(),
            order_id: payment.order_id.clone(),
            stripe_id: payment.stripe_id.clone(),
        });
        let recorded = self
            .payments
            .insert_one(&payment)
            .await
            .on_duplicate_key(|| PaymentError::AlreadyPaid);
        match recorded {
            Ok(_) => {
                self.outbox.wake();
                counted("succeeded");
                self.orders.paid(order.id).await?;
                Ok(payment)
            }
            // Recorded by an earlier attempt: that record is the payment.
            Err(PaymentError::AlreadyPaid) => {
                self.paid(order.id).await?.ok_or(PaymentError::NotFound)
            }
            Err(error) => Err(error),
        }
    }
}

fn window_passed(order: &Order) -> bool {
    order
        .expires_at
        .is_some_and(|expires_at| expires_at.to_chrono() <= chrono::Utc::now())
}

fn object_id(raw: &str) -> PaymentResult<ObjectId> {
    ObjectId::parse_str(raw).map_err(|_| PaymentError::MalformedId(raw.to_owned()))
}

/// Counts a charge reaching `outcome` ([`metrics::PAYMENTS`]): after the write that records it.
fn counted(outcome: &'static str) {
    counter!(metrics::PAYMENTS, "outcome" => outcome).increment(1);
}
