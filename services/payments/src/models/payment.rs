//! Paying for an order: what a buyer sends, the key that makes a charge happen once, and the
//! record of a payment.

use common::bson::oid::ObjectId;
use common::events::PendingEvent;
use common::input::ParseBody;
use common::{ApiError, ApiResult, JsonBody};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use utoipa::ToSchema;

const ORDER_ID_REQUIRED: &str = "orderId is required";
const TOKEN_REQUIRED: &str = "token is required";
/// Card tokens are short; the bound keeps the idempotency key within Stripe's 255 characters.
const MAX_TOKEN_CHARS: usize = 200;

/// What paying reads (the API's description of [`PaymentRequest`]'s input).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // Described, never built: the body is parsed field by field.
pub struct PaymentInput {
    /// The order's id, 24 hex digits.
    #[schema(pattern = "^[0-9a-fA-F]{24}$")]
    order_id: String,
    /// The card processor's token for the card (Stripe's test tokens: `tok_visa`, ...).
    #[schema(min_length = 1, max_length = 200)]
    token: String,
}

/// A payment as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// 24 hex digits.
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub id: String,
}

/// What a buyer sends to pay.
#[derive(Debug, Clone)]
pub struct PaymentRequest {
    pub order_id: ObjectId,
    pub token: String,
}

impl ParseBody for PaymentRequest {
    fn parse(body: &JsonBody) -> ApiResult<Self> {
        let order_id = body.object_id("orderId").ok_or(ORDER_ID_REQUIRED);
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
}

/// The same order and card always give the same key, so a retried request is answered with the
/// first charge; another card after a decline gets a key of its own.
pub fn idempotency_key(order_id: ObjectId, token: &str) -> String {
    format!("payment:{}:{token}", order_id.to_hex())
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub order_id: String,
    pub stripe_id: String,
    /// The Stripe refund, when the order was cancelled although paid (a payment that raced
    /// the order's expiration).
    pub refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<PendingEvent>,
}
