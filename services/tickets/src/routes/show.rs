use axum::Json;
use axum::extract::State;
use common::{ApiError, ApiResult, IdPath};
use serde_json::Value;

use crate::models::ticket::Tickets;

/// `GET /api/tickets/:id`.
pub async fn show(State(tickets): State<Tickets>, IdPath(id): IdPath) -> ApiResult<Json<Value>> {
    let ticket = tickets.find(id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(ticket.view()))
}
