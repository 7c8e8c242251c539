use axum::Json;
use axum::extract::State;
use common::ApiResult;
use serde_json::Value;

use crate::models::ticket::Tickets;

/// `GET /api/tickets`: tickets not reserved, oldest first.
pub async fn list_available(State(tickets): State<Tickets>) -> ApiResult<Json<Vec<Value>>> {
    let available = tickets.available().await?;
    Ok(Json(available.iter().map(|ticket| ticket.view()).collect()))
}
