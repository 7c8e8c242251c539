use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::{ApiResult, JsonBody, RequireUser};
use serde_json::Value;

use crate::models::order::OrderRequest;
use crate::state::OrderLimit;
use crate::store::orders::Orders;

/// `POST /api/orders`: reserves the ticket for the caller, if nobody holds it.
pub async fn create(
    State(orders): State<Orders>,
    State(OrderLimit(limit)): State<OrderLimit>,
    RequireUser(user): RequireUser,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let request = OrderRequest::parse(&body)?;
    limit.check(&user.id)?;
    let order = orders.reserve(&user.id, request).await?;
    Ok((StatusCode::CREATED, Json(order.view())))
}
