use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::ApiResult;
use common::api_docs::{ErrorBody, Owned};
use common::rate_limit::LimitedRequest;

use crate::models::order::Order;
use crate::models::payment::{PaymentInput, PaymentRequest, PaymentView};
use crate::store::checkout::Checkout;

/// `POST /api/payments`: charges the caller's order.
#[utoipa::path(post, path = "/api/payments", tag = super::TAG, operation_id = "createPayment",
    security(("session" = [])),
    request_body = PaymentInput,
    responses(
        (status = 201, description = "Charged: the order is `complete`; `payment.created` is \
            published", body = PaymentView),
        (status = 400, description = "`orderId is required`, `token is required` (on their \
            fields), `Cannot pay for a cancelled order`, `Order is already paid`, `A payment for \
            this order is already in progress`; or a body that is not a JSON object",
            body = ErrorBody),
        (status = 402, description = "The card was declined (the processor's message), or `The \
            card could not be charged; try again or use another card`", body = ErrorBody),
        Owned<Order>,
        (status = 409, description = "`The reservation is not confirmed yet; try again in a \
            moment`", body = ErrorBody),
        (status = 429, description = "Too many payment attempts from this user",
            body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "The card processor (or a database or NATS) cannot be \
            reached: the attempt holds the order until it is known whether money moved",
            body = ErrorBody),
    ))]
pub async fn create(
    State(checkout): State<Checkout>,
    LimitedRequest(user, request): LimitedRequest<PaymentRequest>,
) -> ApiResult<(StatusCode, Json<PaymentView>)> {
    let payment = checkout.pay(&user.id, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(PaymentView {
            id: payment.id.to_hex(),
        }),
    ))
}
