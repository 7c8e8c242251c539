use axum::Json;
use axum::extract::State;
use common::api_docs::Owned;
use common::{ApiResult, IdPath, RequireUser};

use crate::models::order::{Order, OrderView};
use crate::store::orders::Orders;

/// `GET /api/orders/:id`: one of the caller's orders.
#[utoipa::path(get, path = "/api/orders/{id}", tag = super::TAG, operation_id = "showOrder",
    security(("session" = [])),
    params(IdPath),
    responses((status = 200, description = "The order", body = OrderView), Owned<Order>))]
pub async fn show(
    State(orders): State<Orders>,
    RequireUser(user): RequireUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<OrderView>> {
    let order = orders.owned_by(id, &user.id).await?;
    Ok(Json(order.view()))
}
