//! Paying for an order: validation, the claim, the charge, and the record with its event.

use common::bson::{doc, oid::ObjectId};
use common::events::outbox::outbox_of;
use common::events::{
    HandlerError, HandlerResult, OrderCancelled, OrderStatus, Outbox, PaymentCreated, PaymentState,
    PendingEvent,
};
use common::input::parse_object_id;
use common::mongo::{CollectionSchema, unique_index};
use common::{ApiError, ApiResult, JsonBody};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::order::{Closing, Order, OrderReplica, STALE_CLAIM};
use crate::stripe::{ChargeOutcome, Payments as Stripe};

const ORDER_ID_REQUIRED: &str = "orderId is required";
const NOT_CONFIRMED: &str = "The reservation is not confirmed yet; try again in a moment";
/// How long a payment waits for the order's reservation to be confirmed.
const CONFIRMATION_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
const CONFIRMATION_POLL: std::time::Duration = std::time::Duration::from_millis(20);
const TOKEN_REQUIRED: &str = "token is required";
const CHARGE_FAILED: &str = "The card could not be charged; try again or use another card";
/// Card tokens are short; the bound keeps the idempotency key within Stripe's 255 characters.
const MAX_TOKEN_CHARS: usize = 200;

/// What a buyer sends to pay.
#[derive(Debug, Clone)]
pub struct PaymentRequest {
    pub order_id: ObjectId,
    pub token: String,
}

impl PaymentRequest {
    pub fn parse(body: &JsonBody) -> ApiResult<Self> {
        let order_id = body
            .text("orderId")
            .and_then(parse_object_id)
            .ok_or(ORDER_ID_REQUIRED);
        let token = body
            .text("token")
            .filter(|token| {
                token.chars().count() <= MAX_TOKEN_CHARS && !token.chars().any(char::is_control)
            })
            .ok_or(TOKEN_REQUIRED);
        match (order_id, token) {
            (Ok(order_id), Ok(token)) => Ok(PaymentRequest {
                order_id,
                token: token.to_owned(),
            }),
            (order_id, token) => Err(ApiError::validation([
                ("orderId", order_id.err()),
                ("token", token.err()),
            ])),
        }
    }

    /// The same order and card always give the same key, so a retried request is answered
    /// with the first charge; another card after a decline gets a key of its own.
    pub fn idempotency_key(&self) -> String {
        format!("payment:{}:{}", self.order_id.to_hex(), self.token)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub order_id: String,
    pub stripe_id: String,
    /// The Stripe refund, when the order was cancelled although paid (a payment that raced
    /// the order's expiration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<PendingEvent>,
}

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

    /// Charges the caller's order once: 201 with the payment, or why not.
    pub async fn pay(&self, user_id: &str, request: PaymentRequest) -> ApiResult<Payment> {
        let order = self
            .orders
            .find(request.order_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        if order.user_id != user_id {
            return Err(ApiError::NotAuthorized);
        }
        self.refuse_unpayable(&order).await?;
        let order = self.confirmed(order).await?;
        if !self.orders.claim(&order, &request.token).await? {
            // Someone else is paying, or the order changed since we read it.
            let order = self
                .orders
                .find(order.id)
                .await?
                .ok_or(ApiError::NotFound)?;
            self.refuse_unpayable(&order).await?;
            return Err(ApiError::bad_request(
                "A payment for this order is already in progress",
            ));
        }
        if let Some(stale) = order
            .claim
            .as_ref()
            .filter(|stale| stale.token != request.token)
        {
            // A payment died holding the claim: finish (or rule out) its charge before a new one.
            let earlier = PaymentRequest {
                order_id: order.id,
                token: stale.token.clone(),
            };
            if let ChargeOutcome::Charged(stripe_id) = self
                .stripe
                .charge(
                    &earlier.order_id.to_hex(),
                    order.price(),
                    &earlier.token,
                    &earlier.idempotency_key(),
                )
                .await
            {
                self.record(&order, stripe_id).await?;
                return Err(ApiError::bad_request("Order is already paid"));
            }
        }
        match self
            .stripe
            .charge(
                &request.order_id.to_hex(),
                order.price(),
                &request.token,
                &request.idempotency_key(),
            )
            .await
        {
            ChargeOutcome::Charged(stripe_id) => {
                let payment = self.record(&order, stripe_id).await?;
                // The order may have been cancelled (expired) while the card was charged; the
                // cancellation's listener refunds too, so whichever comes second does it.
                if self.refund_if_cancelled(order.id).await? {
                    return Err(ApiError::bad_request("Cannot pay for a cancelled order"));
                }
                Ok(payment)
            }
            ChargeOutcome::Declined(message) => {
                self.orders.release(order.id, &request.token).await?;
                Err(ApiError::PaymentRefused(message))
            }
            ChargeOutcome::Failed(error) => {
                // Nothing charged: the order is free for another attempt, with any card.
                tracing::warn!(order = %order.id, %error, "the processor failed the charge");
                self.orders.release(order.id, &request.token).await?;
                Err(ApiError::PaymentRefused(CHARGE_FAILED.into()))
            }
            // Money may have moved: keep the claim, so only a retry of this very payment (same
            // idempotency key) or a stale-claim recovery can go on.
            ChargeOutcome::Unknown(error) => {
                Err(ApiError::Unavailable(anyhow::anyhow!("Stripe: {error}")))
            }
        }
    }

    /// `order.cancelled`: the replica follows, and a payment that beat the cancellation to the
    /// order is refunded.
    pub async fn order_cancelled(&self, event: &OrderCancelled) -> HandlerResult {
        self.orders.cancelled(event).await?;
        let id = ObjectId::parse_str(&event.id)
            .map_err(|_| HandlerError::reject(format!("malformed order id {:?}", event.id)))?;
        self.refund_if_cancelled(id).await?;
        Ok(())
    }

    /// Refunds the order's payment if the order is cancelled and the payment not yet refunded;
    /// whether the order is cancelled and paid (so refunded, now or before).
    async fn refund_if_cancelled(&self, order_id: ObjectId) -> ApiResult<bool> {
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
            let refund_id =
                self.stripe
                    .refund(&payment.stripe_id, &key)
                    .await
                    .map_err(|error| {
                        ApiError::Unavailable(anyhow::anyhow!("Stripe refund: {error}"))
                    })?;
            tracing::warn!(order = %payment.order_id, %refund_id, "paid order was cancelled: refunded");
            self.payments
                .update_one(
                    doc! { "_id": payment.id },
                    doc! { "$set": { "refundId": refund_id } },
                )
                .await?;
        }
        Ok(true)
    }

    /// The order once the tickets service has confirmed its reservation (`order.confirmed`),
    /// which normally follows its creation within milliseconds: waited for up to
    /// [`CONFIRMATION_WAIT`], then 409, so no card is charged for a reservation that may still be
    /// refused. Never past the order's expiry: its expiration cancels it then.
    async fn confirmed(&self, mut order: Order) -> ApiResult<Order> {
        let deadline = tokio::time::Instant::now() + CONFIRMATION_WAIT;
        while order.status == OrderStatus::Created {
            if order
                .expires_at
                .is_some_and(|expires_at| expires_at.to_chrono() <= chrono::Utc::now())
            {
                return Err(ApiError::bad_request("Cannot pay for a cancelled order"));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::Conflict(NOT_CONFIRMED.into()));
            }
            tokio::time::sleep(CONFIRMATION_POLL).await;
            order = self
                .orders
                .find(order.id)
                .await?
                .ok_or(ApiError::NotFound)?;
        }
        self.refuse_unpayable(&order).await?;
        Ok(order)
    }

    async fn refuse_unpayable(&self, order: &Order) -> ApiResult<()> {
        if order.status == OrderStatus::Complete {
            return Err(ApiError::bad_request("Order is already paid"));
        }
        if self.paid(order.id).await?.is_some() {
            // Recorded by a payment that died before it marked the replica paid: finish that.
            self.orders.paid(order.id).await?;
            return Err(ApiError::bad_request("Order is already paid"));
        }
        let window_passed = order
            .expires_at
            .is_some_and(|expires_at| expires_at.to_chrono() <= chrono::Utc::now());
        if order.status == OrderStatus::Cancelled || order.closed || window_passed {
            return Err(ApiError::bad_request("Cannot pay for a cancelled order"));
        }
        Ok(())
    }

    async fn paid(&self, order_id: ObjectId) -> mongodb::error::Result<Option<Payment>> {
        self.payments
            .find_one(doc! { "orderId": order_id.to_hex() })
            .await
    }

    /// Settles payments that died holding their claim (a crash between charging and recording).
    pub async fn settle_stale_claims(&self) -> ApiResult<()> {
        for order in self.orders.stale_claims().await? {
            self.settle(&order).await?;
        }
        Ok(())
    }

    /// Settles the payment that died holding `order`'s claim: replays the charge under the same
    /// idempotency key, so Stripe answers with what happened (or makes it happen, as the buyer
    /// asked), then records it — refunded if the order was cancelled meanwhile — or frees the
    /// order after a decline. `false` when Stripe can not tell yet.
    async fn settle(&self, order: &Order) -> ApiResult<bool> {
        let Some(claim) = order.claim.clone() else {
            return Ok(true);
        };
        if self.paid(order.id).await?.is_none() {
            let request = PaymentRequest {
                order_id: order.id,
                token: claim.token.clone(),
            };
            let outcome = self
                .stripe
                .charge(
                    &order.id.to_hex(),
                    order.price(),
                    &claim.token,
                    &request.idempotency_key(),
                )
                .await;
            match outcome {
                ChargeOutcome::Charged(stripe_id) => {
                    self.record(order, stripe_id).await?;
                }
                ChargeOutcome::Declined(_) | ChargeOutcome::Failed(_) => {}
                ChargeOutcome::Unknown(error) => {
                    tracing::warn!(order = %order.id, %error, "stale payment not settled yet");
                    return Ok(false);
                }
            }
        }
        self.refund_if_cancelled(order.id).await?;
        self.orders.release(order.id, &claim.token).await?;
        tracing::warn!(order = %order.id, "settled a payment that had died mid-way");
        Ok(true)
    }

    /// The order's window has passed (the orders service asks,
    /// [`common::events::ClosePayment`]): closes it to
    /// payment and says whether it was paid. A payment in progress finishes first (the asker
    /// retries); one that died mid-way is settled now.
    pub async fn close(&self, order_id: &str) -> Result<PaymentState, String> {
        let id = ObjectId::parse_str(order_id)
            .map_err(|_| format!("malformed order id {order_id:?}"))?;
        let unavailable =
            |error: &dyn std::fmt::Display| format!("payments can not tell yet: {error}");
        let closing = self.orders.close(id).await.map_err(|e| unavailable(&e))?;
        // Recorded payments win, whether or not a claim still holds the order: a payment is
        // recorded while its claim holds the order, and `close` takes none while one does.
        if self.paid(id).await.map_err(|e| unavailable(&e))?.is_some() {
            self.orders.paid(id).await.map_err(|e| unavailable(&e))?;
            return Ok(PaymentState::Paid);
        }
        match closing {
            Closing::Closed => Ok(PaymentState::Closed),
            Closing::Held(claim) if claim.at.to_chrono() < chrono::Utc::now() - STALE_CLAIM => {
                if let Some(order) = self.orders.find(id).await.map_err(|e| unavailable(&e))? {
                    self.settle(&order).await.map_err(|e| unavailable(&e))?;
                }
                Err("a payment that died mid-way was settled; ask again".to_owned())
            }
            Closing::Held(_) => Err("a payment for the order is in progress".to_owned()),
        }
    }

    /// Stores the payment with its `payment.created` event; a retry finds the first record.
    async fn record(&self, order: &Order, stripe_id: String) -> ApiResult<Payment> {
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
        match self.payments.insert_one(&payment).await {
            Ok(_) => {
                self.outbox.wake();
                self.orders.paid(order.id).await?;
                Ok(payment)
            }
            Err(error) if common::mongo::is_duplicate_key(&error) => self
                .paid(order.id)
                .await?
                .ok_or_else(|| ApiError::internal(error)),
            Err(error) => Err(error.into()),
        }
    }
}
