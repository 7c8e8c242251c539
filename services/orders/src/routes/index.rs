use axum::Json;
use axum::extract::State;
use common::{ApiResult, RequireUser};
use serde_json::Value;

use crate::store::orders::Orders;

/// `GET /api/orders`: the caller's orders, oldest first.
pub async fn my_orders(
    State(orders): State<Orders>,
    RequireUser(user): RequireUser,
) -> ApiResult<Json<Vec<Value>>> {
    let mine = orders.of_user(&user.id).await?;
    Ok(Json(mine.iter().map(|order| order.view()).collect()))
}
