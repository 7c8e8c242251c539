use axum::extract::State;
use axum::http::StatusCode;
use common::api_docs::ErrorBody;
use common::{ApiResult, IdPath, RequireUser};

use crate::models::order::CANCELLED_BY_BUYER;
use crate::store::orders::Orders;

/// `DELETE /api/orders/:id`: the buyer gives the ticket up.
#[utoipa::path(delete, path = "/api/orders/{id}", tag = super::TAG, operation_id = "cancelOrder",
    security(("session" = [])),
    params(IdPath),
    responses(
        (status = 204, description = "Cancelled (reason `cancelled by the buyer`); \
            `order.cancelled` is published"),
        (status = 400, description = "`Invalid id`, or `Cannot cancel a completed order`",
            body = ErrorBody),
        (status = 401, description = "Not signed in, or not the buyer", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "`Order has changed`: concurrent changes kept winning",
            body = ErrorBody),
    ))]
pub async fn cancel(
    State(orders): State<Orders>,
    RequireUser(user): RequireUser,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let order = orders.owned_by(id, &user.id).await?;
    orders.cancel(order, CANCELLED_BY_BUYER).await?;
    Ok(StatusCode::NO_CONTENT)
}
