//! The pages: one askama template (under `templates/`) per struct, all extending `base.html`.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::contract::{Message, Order, OrderStatus, Ticket, User};
use crate::error::{Error, Result};

/// Renders a page with a status.
pub fn render(status: StatusCode, page: &impl Template) -> Result<Response> {
    Ok((status, Html(page.render()?)).into_response())
}

/// Who is looking, for the header's links.
#[derive(Debug, Clone)]
pub enum Viewer {
    Anonymous,
    User(User),
    /// Error pages are rendered without asking the API (it may be what failed).
    Unknown,
}

impl Viewer {
    pub fn from_user(user: Option<User>) -> Self {
        user.map_or(Viewer::Anonymous, Viewer::User)
    }

    pub fn user(&self) -> Option<&User> {
        match self {
            Viewer::User(user) => Some(user),
            _ => None,
        }
    }

    pub fn is_signed_in(&self) -> bool {
        self.user().is_some()
    }
}

/// The API's validation errors, split into those shown next to a form field and the rest.
#[derive(Debug, Default)]
pub struct FormErrors {
    fields: Vec<(String, String)>,
    general: Vec<String>,
}

impl FormErrors {
    /// Errors naming a field the form has go next to it; the others go above the form.
    pub fn new(errors: Vec<Message>, form_fields: &[&str]) -> Self {
        let mut sorted = FormErrors::default();
        for error in errors {
            match error.field {
                Some(field) if form_fields.contains(&field.as_str()) => {
                    sorted.fields.push((field, error.message))
                }
                _ => sorted.general.push(error.message),
            }
        }
        sorted
    }

    /// A validation or business-rule refusal (400) is shown on the form that was sent; anything
    /// else stays an error page.
    pub fn from_refusal(error: Error, fields: &[&str]) -> Result<(StatusCode, FormErrors)> {
        match error {
            // Bad input, or too many attempts (the rate limits): told on the form itself.
            Error::Refused { status, errors }
                if status == StatusCode::BAD_REQUEST || status == StatusCode::TOO_MANY_REQUESTS =>
            {
                Ok((status, FormErrors::new(errors, fields)))
            }
            other => Err(other),
        }
    }

    pub fn general(message: impl Into<String>) -> Self {
        FormErrors {
            fields: Vec::new(),
            general: vec![message.into()],
        }
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, message)| message.as_str())
    }

    pub fn messages(&self) -> &[String] {
        &self.general
    }
}

/// A message about what just happened, shown above the page's content.
#[derive(Debug, Clone)]
pub struct Notice {
    /// `info`, `success` or `error`: the style, and whether it is announced as an alert.
    pub tone: &'static str,
    pub text: String,
}

impl Notice {
    pub fn error(text: impl Into<String>) -> Option<Notice> {
        Some(Notice {
            tone: "error",
            text: text.into(),
        })
    }

    pub fn info(text: impl Into<String>) -> Option<Notice> {
        Some(Notice {
            tone: "info",
            text: text.into(),
        })
    }

    pub fn success(text: impl Into<String>) -> Option<Notice> {
        Some(Notice {
            tone: "success",
            text: text.into(),
        })
    }
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct HomePage {
    pub viewer: Viewer,
    pub tickets: Vec<Ticket>,
}

/// Which of the two account forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthForm {
    SignUp,
    SignIn,
}

#[derive(Template)]
#[template(path = "auth.html")]
pub struct AuthPage {
    pub viewer: Viewer,
    pub form: AuthForm,
    pub email: String,
    pub errors: FormErrors,
}

impl AuthPage {
    fn heading(&self) -> &'static str {
        match self.form {
            AuthForm::SignUp => "Sign up",
            AuthForm::SignIn => "Sign in",
        }
    }

    fn action(&self) -> &'static str {
        match self.form {
            AuthForm::SignUp => "/auth/signup",
            AuthForm::SignIn => "/auth/signin",
        }
    }
}

/// Selling a ticket, or editing one (`ticket_id` set).
#[derive(Template)]
#[template(path = "ticket_form.html")]
pub struct TicketFormPage {
    pub viewer: Viewer,
    pub ticket_id: Option<String>,
    pub title: String,
    pub price: String,
    pub errors: FormErrors,
    /// A reserved ticket can no longer be edited: the page says so instead of showing the form.
    pub locked: bool,
}

impl TicketFormPage {
    fn heading(&self) -> &'static str {
        if self.ticket_id.is_some() {
            "Edit ticket"
        } else {
            "Sell a ticket"
        }
    }

    fn action(&self) -> String {
        match &self.ticket_id {
            Some(id) => format!("/tickets/{id}/edit"),
            None => "/tickets/new".to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "ticket.html")]
pub struct TicketPage {
    pub viewer: Viewer,
    pub ticket: Ticket,
    pub notice: Option<Notice>,
}

impl TicketPage {
    fn is_seller(&self) -> bool {
        self.viewer
            .user()
            .is_some_and(|user| user.id == self.ticket.user_id)
    }
}

#[derive(Template)]
#[template(path = "order.html")]
pub struct OrderPage {
    pub viewer: Viewer,
    pub order: Order,
    pub seconds_left: i64,
    pub payable: bool,
    pub notice: Option<Notice>,
    /// Paid, but the order is not `complete` yet: the page refreshes itself until it is.
    pub confirming: bool,
    pub stripe_key: Option<String>,
}

impl OrderPage {
    fn time_left(&self) -> String {
        time_left(self.seconds_left)
    }

    /// Stripe's test tokens work against a test account, so they are offered whenever no live key is set.
    fn offers_test_tokens(&self) -> bool {
        self.stripe_key
            .as_deref()
            .is_none_or(|key| key.starts_with("pk_test_"))
    }
}

#[derive(Template)]
#[template(path = "orders.html")]
pub struct OrdersPage {
    pub viewer: Viewer,
    pub orders: Vec<Order>,
}

/// "14 minutes 5 seconds"; the countdown script writes the same words.
pub fn time_left(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match (seconds / 60, seconds % 60) {
        (0, 0) => "Expired".to_owned(),
        (0, secs) => plural(secs, "second"),
        (mins, 0) => plural(mins, "minute"),
        (mins, secs) => format!("{} {}", plural(mins, "minute"), plural(secs, "second")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_naturally() {
        assert_eq!(time_left(0), "Expired");
        assert_eq!(time_left(1), "1 second");
        assert_eq!(time_left(59), "59 seconds");
        assert_eq!(time_left(60), "1 minute");
        assert_eq!(time_left(61), "1 minute 1 second");
        assert_eq!(time_left(899), "14 minutes 59 seconds");
    }

    #[test]
    fn field_errors_go_next_to_known_fields_only() {
        let errors = FormErrors::new(
            vec![
                Message {
                    message: "Email must be valid".into(),
                    field: Some("email".into()),
                },
                Message {
                    message: "Email in use".into(),
                    field: None,
                },
                Message {
                    message: "Odd".into(),
                    field: Some("other".into()),
                },
            ],
            &["email", "password"],
        );
        assert_eq!(errors.field("email"), Some("Email must be valid"));
        assert_eq!(errors.field("password"), None);
        assert_eq!(errors.messages(), ["Email in use", "Odd"]);
    }
}
