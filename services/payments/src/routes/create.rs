use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::{ApiResult, JsonBody, RequireUser};
use serde_json::{Value, json};

use crate::models::payment::PaymentRequest;
use crate::state::PaymentLimit;
use crate::store::checkout::Checkout;

/// `POST /api/payments`: charges the caller's order.
pub async fn create(
    State(checkout): State<Checkout>,
    State(PaymentLimit(limit)): State<PaymentLimit>,
    RequireUser(user): RequireUser,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let request = PaymentRequest::parse(&body)?;
    limit.check(&user.id)?;
    let payment = checkout.pay(&user.id, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": payment.id.to_hex() })),
    ))
}
