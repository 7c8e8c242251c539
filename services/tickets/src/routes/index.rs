use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use common::ApiResult;

use crate::store::Tickets;

/// `GET /api/tickets`: tickets not reserved, oldest first.
pub async fn list_available(State(tickets): State<Tickets>) -> ApiResult<impl IntoResponse> {
    let listing = tickets.available().await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], listing))
}
