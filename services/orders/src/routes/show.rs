use axum::Json;
use axum::extract::State;
use common::{ApiResult, IdPath, RequireUser};
use serde_json::Value;

use crate::store::orders::Orders;

/// `GET /api/orders/:id`: one of the caller's orders.
pub async fn show(
    State(orders): State<Orders>,
    RequireUser(user): RequireUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<Value>> {
    let order = orders.owned_by(id, &user.id).await?;
    Ok(Json(order.view()))
}
