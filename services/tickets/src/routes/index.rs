use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use common::ApiResult;

use crate::models::ticket::TicketView;
use crate::store::Tickets;

/// `GET /api/tickets`: tickets not reserved, oldest first.
#[utoipa::path(get, path = "/api/tickets", tag = super::TAG, operation_id = "listTickets",
    responses((status = 200, description = "The tickets not reserved, oldest first",
        body = Vec<TicketView>)))]
pub async fn list_available(State(tickets): State<Tickets>) -> ApiResult<impl IntoResponse> {
    let listing = tickets.available().await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], listing))
}
