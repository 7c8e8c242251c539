use axum::Json;
use axum::extract::State;
use common::{ApiResult, IdPath, JsonBody, RequireUser};
use serde_json::Value;

use crate::models::ticket::TicketDraft;
use crate::store::Tickets;

/// `PUT /api/tickets/:id`: the owner changes title and price while the ticket is not reserved.
pub async fn update(
    State(tickets): State<Tickets>,
    RequireUser(user): RequireUser,
    IdPath(id): IdPath,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let draft = TicketDraft::parse(&body)?;
    let ticket = tickets.edit(id, &user.id, draft).await?;
    Ok(Json(ticket.view()))
}
