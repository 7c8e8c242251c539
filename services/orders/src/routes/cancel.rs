use axum::extract::State;
use axum::http::StatusCode;
use common::{ApiResult, IdPath, RequireUser};

use crate::models::order::CANCELLED_BY_BUYER;
use crate::store::orders::Orders;

/// `DELETE /api/orders/:id`: the buyer gives the ticket up.
pub async fn cancel(
    State(orders): State<Orders>,
    RequireUser(user): RequireUser,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let order = orders.owned_by(id, &user.id).await?;
    orders.cancel(order, CANCELLED_BY_BUYER).await?;
    Ok(StatusCode::NO_CONTENT)
}
