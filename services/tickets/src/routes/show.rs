use axum::Json;
use axum::extract::State;
use common::api_docs::Missing;
use common::{ApiResult, IdPath};

use crate::error::TicketError;
use crate::models::ticket::{Ticket, TicketView};
use crate::store::Tickets;

/// `GET /api/tickets/:id`.
#[utoipa::path(get, path = "/api/tickets/{id}", tag = super::TAG, operation_id = "showTicket",
    params(IdPath),
    responses((status = 200, description = "The ticket", body = TicketView), Missing<Ticket>))]
pub async fn show(
    State(tickets): State<Tickets>,
    IdPath(id): IdPath,
) -> ApiResult<Json<TicketView>> {
    let ticket = tickets.find(id).await?.ok_or(TicketError::NotFound)?;
    Ok(Json(ticket.view()))
}
