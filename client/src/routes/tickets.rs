use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{Form, Id};
use crate::api::{Api, Browser};
use crate::contract::{Created, Ticket};
use crate::error::{Error, Result};
use crate::views::{FormErrors, Notice, TicketFormPage, TicketPage, Viewer, render};

const FIELDS: &[&str] = &["title", "price"];

/// The sell/edit form as sent, and the API's `{title, price}` body (the API takes a numeric string).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct TicketForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    price: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseForm {
    ticket_version: Option<i64>,
}

/// `/tickets/new`: the sell form, for signed-in visitors.
pub async fn new_form(State(api): State<Api>, browser: Browser) -> Result<Response> {
    let user = api
        .current_user(&browser)
        .await
        .ok_or_else(Error::not_authorized)?;
    let page = TicketFormPage {
        viewer: Viewer::User(user),
        ticket_id: None,
        title: String::new(),
        price: String::new(),
        errors: FormErrors::default(),
        locked: false,
    };
    render(StatusCode::OK, &page)
}

pub async fn create(
    State(api): State<Api>,
    browser: Browser,
    Form(form): Form<TicketForm>,
) -> Result<Response> {
    match api.post::<Ticket>("/api/tickets", &browser, &form).await {
        Ok(reply) => Ok(Redirect::to(&format!("/tickets/{}", reply.body.id)).into_response()),
        Err(error) => {
            let (status, errors) = FormErrors::from_refusal(error, FIELDS)?;
            form_page(&api, &browser, None, form, errors, status).await
        }
    }
}

/// `/tickets/:id`: the ticket, and a Purchase button for anyone signed in but its seller.
pub async fn show(State(api): State<Api>, browser: Browser, Id(id): Id) -> Result<Response> {
    ticket_page(&api, &browser, &id, StatusCode::OK, |_| None).await
}

/// Orders the ticket at the version the page showed. If it changed since, the buyer sees the new
/// price and confirms again instead of paying a price they never saw.
pub async fn purchase(
    State(api): State<Api>,
    browser: Browser,
    Id(id): Id,
    Form(form): Form<PurchaseForm>,
) -> Result<Response> {
    let order = json!({ "ticketId": id, "ticketVersion": form.ticket_version });
    match api.post::<Created>("/api/orders", &browser, &order).await {
        Ok(reply) => Ok(Redirect::to(&format!("/orders/{}", reply.body.id)).into_response()),
        Err(Error::Refused { status, .. }) if status == StatusCode::CONFLICT => {
            ticket_page(&api, &browser, &id, status, |ticket| {
                Notice::info(format!(
                    "This ticket changed while you were looking: it now costs ${}. \
                     Press Purchase again to buy it at this price.",
                    ticket.price()
                ))
            })
            .await
        }
        Err(error @ Error::Refused { status, .. }) if status == StatusCode::BAD_REQUEST => {
            let message = error.messages().join(" ");
            ticket_page(&api, &browser, &id, status, |_| Notice::error(message)).await
        }
        Err(error) => Err(error),
    }
}

/// `/tickets/:id/edit`: the seller's form, or a note that the ticket is reserved and fixed.
pub async fn edit_form(State(api): State<Api>, browser: Browser, Id(id): Id) -> Result<Response> {
    let (user, ticket) = tokio::join!(api.current_user(&browser), api.ticket(&id, &browser));
    let ticket = ticket?;
    let user = user
        .filter(|user| user.id == ticket.user_id)
        .ok_or_else(Error::not_authorized)?;
    let page = TicketFormPage {
        viewer: Viewer::User(user),
        ticket_id: Some(id),
        price: ticket.price().to_string(),
        locked: ticket.is_reserved(),
        title: ticket.title,
        errors: FormErrors::default(),
    };
    render(StatusCode::OK, &page)
}

pub async fn update(
    State(api): State<Api>,
    browser: Browser,
    Id(id): Id,
    Form(form): Form<TicketForm>,
) -> Result<Response> {
    match api
        .put::<Ticket>(&format!("/api/tickets/{id}"), &browser, &form)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(error) => {
            let (status, errors) = FormErrors::from_refusal(error, FIELDS)?;
            form_page(&api, &browser, Some(id), form, errors, status).await
        }
    }
}

/// The ticket page, with a notice that may depend on the ticket as it is now.
async fn ticket_page(
    api: &Api,
    browser: &Browser,
    id: &str,
    status: StatusCode,
    notice: impl FnOnce(&Ticket) -> Option<Notice>,
) -> Result<Response> {
    let (user, ticket) = tokio::join!(api.current_user(browser), api.ticket(id, browser));
    let ticket = ticket?;
    let page = TicketPage {
        viewer: Viewer::from_user(user),
        notice: notice(&ticket),
        ticket,
    };
    render(status, &page)
}

/// The sell/edit form again, with what was typed and what was wrong with it.
async fn form_page(
    api: &Api,
    browser: &Browser,
    ticket_id: Option<String>,
    form: TicketForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response> {
    let page = TicketFormPage {
        viewer: Viewer::from_user(api.current_user(browser).await),
        ticket_id,
        title: form.title,
        price: form.price,
        errors,
        locked: false,
    };
    render(status, &page)
}
