use axum::Json;
use axum::extract::State;
use common::{ApiResult, IdPath};
use serde_json::Value;

use crate::error::TicketError;
use crate::store::Tickets;

/// `GET /api/tickets/:id`.
pub async fn show(State(tickets): State<Tickets>, IdPath(id): IdPath) -> ApiResult<Json<Value>> {
    let ticket = tickets.find(id).await?.ok_or(TicketError::NotFound)?;
    Ok(Json(ticket.view()))
}
