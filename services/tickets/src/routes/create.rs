use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::{ApiResult, JsonBody, RequireUser};
use serde_json::Value;

use crate::models::ticket::TicketDraft;
use crate::store::Tickets;

/// `POST /api/tickets`: lists a new ticket for sale.
pub async fn create(
    State(tickets): State<Tickets>,
    RequireUser(user): RequireUser,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let draft = TicketDraft::parse(&body)?;
    let ticket = tickets.create(&user.id, draft).await?;
    Ok((StatusCode::CREATED, Json(ticket.view())))
}
