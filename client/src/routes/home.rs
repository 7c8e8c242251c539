use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::api::{Api, Browser};
use crate::contract::Ticket;
use crate::error::Result;
use crate::views::{HomePage, Viewer, render};

/// `/`: the tickets for sale.
pub async fn index(State(api): State<Api>, browser: Browser) -> Result<Response> {
    let (user, tickets) = tokio::join!(
        api.current_user(&browser),
        api.get::<Vec<Ticket>>("/api/tickets", &browser)
    );
    let page = HomePage {
        viewer: Viewer::from_user(user),
        tickets: tickets?.body,
    };
    render(StatusCode::OK, &page)
}
