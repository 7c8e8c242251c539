use axum::Json;
use axum::extract::State;
use common::{ApiResult, RequireUser};

use crate::models::order::OrderView;
use crate::store::orders::Orders;

/// `GET /api/orders`: the caller's orders, oldest first.
#[utoipa::path(get, path = "/api/orders", tag = super::TAG, operation_id = "listOrders",
    security(("session" = [])),
    responses(
        (status = 200, description = "The caller's orders, oldest first", body = Vec<OrderView>),
    ))]
pub async fn my_orders(
    State(orders): State<Orders>,
    RequireUser(user): RequireUser,
) -> ApiResult<Json<Vec<OrderView>>> {
    let mine = orders.of_user(&user.id).await?;
    Ok(Json(mine.iter().map(|order| order.view()).collect()))
}
