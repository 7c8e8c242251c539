use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::{ApiResult, JsonBody, RequireUser};
use serde_json::{Value, json};

use crate::models::payment::{Checkout, PaymentRequest};

/// `POST /api/payments`: charges the caller's order.
pub async fn create(
    State(checkout): State<Checkout>,
    RequireUser(user): RequireUser,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let request = PaymentRequest::parse(&body)?;
    let payment = checkout.pay(&user.id, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": payment.id.to_hex() })),
    ))
}
