use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::api_docs::ErrorBody;
use common::{ApiResult, JsonBody, RequireUser};

use crate::models::ticket::{TicketDraft, TicketInput, TicketView};
use crate::store::Tickets;

/// `POST /api/tickets`: lists a new ticket for sale.
#[utoipa::path(post, path = "/api/tickets", tag = super::TAG, operation_id = "createTicket",
    security(("session" = [])),
    request_body = TicketInput,
    responses(
        (status = 201, description = "Listed; `ticket.created` is published", body = TicketView,
            links(
                ("showTicket" = (operation_id = "showTicket",
                    parameters(("id" = "$response.body#/id")))),
                ("updateTicket" = (operation_id = "updateTicket",
                    parameters(("id" = "$response.body#/id")))),
            )),
        (status = 400, description = "`Title is required`, `Price must be greater than 0`, \
            `Price must be at least 0.50`, `Price must be less than 1000000` (on `title` or \
            `price`); or a body that is not a JSON object", body = ErrorBody),
    ))]
pub async fn create(
    State(tickets): State<Tickets>,
    RequireUser(user): RequireUser,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<TicketView>)> {
    let draft = TicketDraft::parse(&body)?;
    let ticket = tickets.create(&user.id, draft).await?;
    Ok((StatusCode::CREATED, Json(ticket.view())))
}
