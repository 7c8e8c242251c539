use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::ApiResult;
use common::api_docs::{ErrorBody, Missing};
use common::rate_limit::LimitedRequest;

use crate::models::order::{OrderInput, OrderRequest, OrderView};
use crate::store::orders::Orders;
use crate::store::ticket_replica::Ticket;

/// `POST /api/orders`: reserves the ticket for the caller, if nobody holds it.
#[utoipa::path(post, path = "/api/orders", tag = super::TAG, operation_id = "createOrder",
    security(("session" = [])),
    request_body = OrderInput,
    responses(
        (status = 201, description = "Ordered (`created`: the reservation is pending); \
            `order.created` is published", body = OrderView,
            links(
                ("showOrder" = (operation_id = "showOrder",
                    parameters(("id" = "$response.body#/id")))),
                ("cancelOrder" = (operation_id = "cancelOrder",
                    parameters(("id" = "$response.body#/id")))),
            )),
        (status = 400, description = "`TicketId must be provided`, `TicketVersion must be a \
            non-negative integer` (on their fields), `Ticket is already reserved`, `You cannot \
            order your own ticket`; or a body that is not a JSON object", body = ErrorBody),
        Missing<Ticket>,
        (status = 409, description = "`Ticket has changed` since the version the buyer saw",
            body = ErrorBody),
        (status = 429, description = "Too many orders from this user", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`Service unavailable`: the buyer saw a version of the \
            ticket this service has not caught up with within 2 s (try again), or its database \
            is unreachable", body = ErrorBody),
    ))]
pub async fn create(
    State(orders): State<Orders>,
    LimitedRequest(user, request): LimitedRequest<OrderRequest>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    let order = orders.reserve(&user.id, request).await?;
    Ok((StatusCode::CREATED, Json(order.view())))
}
