use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::extract::{Form, Id};
use crate::api::{Api, Browser};
use crate::contract::{Created, Order, OrderStatus};
use crate::error::{Error, Result};
use crate::state::{AppState, CardEntry};
use crate::views::{Notice, OrderPage, OrdersPage, Viewer, render};

/// How long a payment waits for its order to become `complete` before the order page takes over
/// (it then says "confirming" and refreshes itself).
const CONFIRM_PATIENCE: Duration = Duration::from_secs(3);

#[derive(Debug, Deserialize)]
pub struct OrderQuery {
    /// Set by the redirect after a payment.
    paid: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PayForm {
    /// A Stripe token: a test token from the form, or one Stripe.js made from a card.
    #[serde(default)]
    token: String,
}

/// `/orders`: my orders and their status.
pub async fn index(State(api): State<Api>, browser: Browser) -> Result<Response> {
    let (user, orders) = tokio::join!(
        api.current_user(&browser),
        api.get::<Vec<Order>>("/api/orders", &browser)
    );
    let page = OrdersPage {
        viewer: Viewer::from_user(user),
        orders: orders?.body,
    };
    render(StatusCode::OK, &page)
}

/// `/orders/:id`: the order, the time left to pay it, and the payment form.
pub async fn show(
    State(state): State<AppState>,
    browser: Browser,
    Id(id): Id,
    Query(query): Query<OrderQuery>,
) -> Result<Response> {
    order_page(
        &state,
        &browser,
        &id,
        StatusCode::OK,
        None,
        query.paid.is_some(),
    )
    .await
}

/// Pays through the API. The order completes asynchronously, so this waits briefly for it.
pub async fn pay(
    State(state): State<AppState>,
    browser: Browser,
    Id(id): Id,
    Form(form): Form<PayForm>,
) -> Result<Response> {
    let payment = json!({ "orderId": id, "token": form.token });
    match state
        .api
        .post::<Created>("/api/payments", &browser, &payment)
        .await
    {
        Ok(_) => {
            state
                .api
                .wait_until_complete(&id, &browser, CONFIRM_PATIENCE)
                .await;
            Ok(Redirect::to(&format!("/orders/{id}?paid=1")).into_response())
        }
        // Declined (402) or refused (400, e.g. already paid): said on the order page, which stays payable.
        Err(error @ Error::Refused { status, .. })
            if status == StatusCode::PAYMENT_REQUIRED || status == StatusCode::BAD_REQUEST =>
        {
            let notice = Notice::error(format!("Payment failed: {}", error.messages().join(" ")));
            order_page(&state, &browser, &id, status, notice, false).await
        }
        Err(error) => Err(error),
    }
}

async fn order_page(
    state: &AppState,
    browser: &Browser,
    id: &str,
    status: StatusCode,
    notice: Option<Notice>,
    paid: bool,
) -> Result<Response> {
    let (user, order) = tokio::join!(
        state.api.current_user(browser),
        state.api.order(id, browser)
    );
    let page = order_view(
        Viewer::from_user(user),
        order?,
        notice,
        paid,
        &state.card_entry,
    );
    render(status, &page)
}

/// What the order page shows, now.
fn order_view(
    viewer: Viewer,
    order: Order,
    notice: Option<Notice>,
    paid: bool,
    card_entry: &CardEntry,
) -> OrderPage {
    let now = Utc::now();
    let confirming = paid && order.status.is_open();
    let notice = notice.or_else(|| {
        (paid && order.status == OrderStatus::Complete)
            .then(|| Notice::success("Payment received. Your order is complete."))
            .flatten()
    });
    OrderPage {
        viewer,
        seconds_left: order.seconds_left(now),
        payable: order.is_payable(now) && !confirming,
        notice,
        confirming,
        stripe_key: card_entry.stripe_publishable_key.clone(),
        order,
    }
}
