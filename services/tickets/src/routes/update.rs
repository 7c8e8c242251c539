use axum::Json;
use axum::extract::State;
use common::api_docs::{Contended, ErrorBody, Owned};
use common::{ApiResult, IdPath, JsonBody, RequireUser};

use crate::models::ticket::{Ticket, TicketDraft, TicketInput, TicketView};
use crate::store::Tickets;

/// `PUT /api/tickets/:id`: the owner changes title and price while the ticket is not reserved.
#[utoipa::path(put, path = "/api/tickets/{id}", tag = super::TAG, operation_id = "updateTicket",
    security(("session" = [])),
    params(IdPath),
    request_body = TicketInput,
    responses(
        (status = 200, description = "Changed; `ticket.updated` is published", body = TicketView),
        (status = 400, description = "The input errors of `POST /api/tickets`, `Invalid id`, or \
            `Cannot edit a reserved ticket`", body = ErrorBody),
        Owned<Ticket>, Contended<Ticket>,
    ))]
pub async fn update(
    State(tickets): State<Tickets>,
    RequireUser(user): RequireUser,
    IdPath(id): IdPath,
    body: JsonBody,
) -> ApiResult<Json<TicketView>> {
    let draft = TicketDraft::parse(&body)?;
    let ticket = tickets.edit(id, &user.id, draft).await?;
    Ok(Json(ticket.view()))
}
