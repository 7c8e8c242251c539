use axum::Json;
use axum::extract::State;
use common::api_docs::ErrorBody;
use common::{ApiResult, IdPath, RequireUser};

use crate::models::order::OrderView;
use crate::store::orders::Orders;

/// `GET /api/orders/:id`: one of the caller's orders.
#[utoipa::path(get, path = "/api/orders/{id}", tag = super::TAG, operation_id = "showOrder",
    security(("session" = [])),
    params(IdPath),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 400, description = "`Invalid id`", body = ErrorBody),
        (status = 401, description = "Not signed in, or not the buyer", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
    ))]
pub async fn show(
    State(orders): State<Orders>,
    RequireUser(user): RequireUser,
    IdPath(id): IdPath,
) -> ApiResult<Json<OrderView>> {
    let order = orders.owned_by(id, &user.id).await?;
    Ok(Json(order.view()))
}
