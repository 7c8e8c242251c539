//! What an answer must be: the contract's error shape, a success it allows, or a page.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::raw_http::Answer;

pub type BodyCheck = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

#[derive(Clone)]
pub enum Expect {
    /// An API answer with one of these statuses: a 4xx in the contract's error shape (naming
    /// `field` when given), a 2xx with a JSON body (that passes `check` when given).
    Api {
        statuses: Vec<u16>,
        field: Option<String>,
        check: Option<BodyCheck>,
    },
    /// A web page: HTML with a 2xx or 4xx, or a redirect.
    Page,
    /// A path the gateway may hand to the API or to the web client (e.g. one it normalises):
    /// no 5xx; a JSON error in the contract's shape, else a page.
    Either,
    /// A request that is not HTTP: a header value with a byte RFC 9110 forbids (DEL, a control
    /// character). hyper, under the services' own code, refuses it with a bare 400 before any
    /// handler or middleware sees it, so the contract's shape cannot be had there. Asserted as
    /// exactly that — answered, 400, no 5xx — so a change in it shows.
    NotHttp,
}

pub fn api(statuses: &[u16]) -> Expect {
    Expect::Api {
        statuses: statuses.to_vec(),
        field: None,
        check: None,
    }
}

/// A 400 naming `field`.
pub fn invalid(field: &str) -> Expect {
    Expect::Api {
        statuses: vec![400],
        field: Some(field.to_owned()),
        check: None,
    }
}

pub fn api_checked(
    statuses: &[u16],
    check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
) -> Expect {
    Expect::Api {
        statuses: statuses.to_vec(),
        field: None,
        check: Some(Arc::new(check)),
    }
}

/// `GET /api/users/currentuser` for an anonymous caller.
pub fn anonymous() -> Expect {
    api_checked(&[200], |body| {
        if *body == json!({ "currentUser": null }) {
            Ok(())
        } else {
            Err("not {\"currentUser\": null}: a forged or broken cookie must make the caller anonymous".into())
        }
    })
}

impl Expect {
    pub fn check(&self, method: &str, answer: &Answer) -> Result<(), String> {
        if answer.status >= 500 {
            return Err(format!("a server error ({})", answer.status));
        }
        let head = method == "HEAD";
        match self {
            Expect::Api {
                statuses,
                field,
                check,
            } => {
                if !statuses.contains(&answer.status) {
                    return Err(format!("expected status {statuses:?}"));
                }
                if head {
                    return Ok(());
                }
                match answer.status {
                    400..=499 => error_shape(answer, field.as_deref()),
                    204 => Ok(()),
                    _ => {
                        if !answer.content_type.starts_with("application/json") {
                            return Err("a success without Content-Type: application/json".into());
                        }
                        let body = answer.json().ok_or("a success whose body is not JSON")?;
                        match check {
                            Some(check) => check(&body),
                            None => Ok(()),
                        }
                    }
                }
            }
            Expect::Page => page_shape(answer, head),
            Expect::NotHttp => match answer.status {
                400 => Ok(()),
                _ => Err("expected the HTTP layer's 400".into()),
            },
            Expect::Either => {
                if answer.content_type.starts_with("application/json") {
                    match answer.status {
                        400..=499 => error_shape(answer, None),
                        _ => Err("JSON that is not an error, for a path naming nothing".into()),
                    }
                } else {
                    page_shape(answer, head)
                }
            }
        }
    }
}

/// `{"errors": [{"message": non-empty, "field"?: string}]}` with `Content-Type: application/json`.
fn error_shape(answer: &Answer, field: Option<&str>) -> Result<(), String> {
    if !answer.content_type.starts_with("application/json") {
        return Err("an error that is not Content-Type: application/json".into());
    }
    let body = answer.json().ok_or("an error whose body is not JSON")?;
    let object = body
        .as_object()
        .ok_or("an error body that is not an object")?;
    if object.len() != 1 {
        return Err("an error body with keys besides `errors`".into());
    }
    let errors = object
        .get("errors")
        .and_then(Value::as_array)
        .filter(|errors| !errors.is_empty())
        .ok_or("an error body without a non-empty `errors` array")?;
    for entry in errors {
        let entry = entry
            .as_object()
            .ok_or("an error entry that is not an object")?;
        match entry.get("message") {
            Some(Value::String(message)) if !message.trim().is_empty() => {}
            _ => return Err("an error entry without a non-empty `message`".into()),
        }
        match entry.get("field") {
            None | Some(Value::String(_)) => {}
            Some(_) => return Err("an error entry whose `field` is not a string".into()),
        }
        if entry.keys().any(|key| key != "message" && key != "field") {
            return Err("an error entry with keys besides `message` and `field`".into());
        }
    }
    if let Some(field) = field
        && !errors.iter().any(|entry| entry["field"] == field)
    {
        return Err(format!("no error names the field `{field}`"));
    }
    Ok(())
}

/// What is wrong with the answer to one request (`label` says which), if anything.
pub fn failure(
    label: &str,
    expect: &Expect,
    method: &str,
    outcome: &Result<Answer, String>,
) -> Option<String> {
    match outcome {
        Ok(answer) if rate_limited(label, answer) => None,
        Ok(answer) => expect
            .check(method, answer)
            .err()
            .map(|problem| format!("{label}: {problem}\n      got {}", answer.describe())),
        Err(error) => Some(format!("{label}: no answer: {error}")),
    }
}

/// Sign-in and sign-up are rate limited per email: the sweep's many attempts at its fixture's
/// email may be answered 429, in the contract's shape, which is a right answer as well.
fn rate_limited(label: &str, answer: &Answer) -> bool {
    (label.starts_with("POST /api/users/signin") || label.starts_with("POST /api/users/signup"))
        && answer.status == 429
        && error_shape(answer, None).is_ok()
}

fn page_shape(answer: &Answer, head: bool) -> Result<(), String> {
    match answer.status {
        300..=399 => answer
            .location
            .as_ref()
            .map(|_| ())
            .ok_or_else(|| "a redirect without Location".to_owned()),
        200..=299 | 400..=499 if head || answer.content_type.starts_with("text/html") => Ok(()),
        200..=299 | 400..=499 => Err("a page that is not text/html".into()),
        _ => Err("an unexpected status for a page".into()),
    }
}
