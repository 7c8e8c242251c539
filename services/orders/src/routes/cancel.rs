use axum::extract::State;
use axum::http::StatusCode;
use common::api_docs::{Contended, ErrorBody, Owned};
use common::{ApiResult, IdPath, RequireUser};

use crate::models::order::{CANCELLED_BY_BUYER, Order};
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
        Owned<Order>, Contended<Order>,
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
