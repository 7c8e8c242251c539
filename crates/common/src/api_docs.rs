//! The API's OpenAPI 3.1 description, made from the code: each service's handlers carry a
//! `#[utoipa::path]` with the statuses they answer, registered with their routes through
//! [`OpenApiRouter`] (so a route and its operation are one declaration), and this module adds
//! what every service shares — the error shape, the `session` cookie, and the statuses the
//! HTTP shell ([`crate::http`]) answers for any route.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use axum::Router;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};
use utoipa::{IntoResponses, Modify, PartialSchema, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use crate::error::ErrorEntry;

/// The name of the security scheme of operations that need a signed-in caller.
pub const SESSION_SCHEME: &str = "session";

/// Every error answer: `{"errors":[{"message":"...","field":"..."}]}`.
#[derive(ToSchema)]
#[allow(dead_code)] // A description of [`crate::ApiError`]'s body, never built.
pub struct ErrorBody {
    /// At least one entry; `field` only for input errors.
    #[schema(min_items = 1)]
    errors: Vec<ErrorEntry>,
}

/// The statuses the shell answers for any route, before or after its handler: the body or the
/// headers too large, and a failure of the service or of what it depends on.
/// (413: the shell reads any route's body, whatever its method.)
const SHELL_STATUSES: [(&str, &str); 4] = [
    ("413", "The request body is larger than 64 KiB"),
    (
        "431",
        "More than 100 request headers, or more than 32 KiB of them",
    ),
    ("500", "Something went wrong (`Something went wrong`)"),
    (
        "503",
        "A database or NATS is unreachable (`Service unavailable`)",
    ),
];

/// What the shared extractors answer, for the operations that use them and do not say more:
/// a malformed id in the path ([`crate::IdPath`]) and a missing session
/// ([`crate::RequireUser`]).
const INVALID_ID: &str = "`Invalid id`";
const NOT_SIGNED_IN: &str = "Not signed in";

/// A kind of resource that routes name by id, as the API's descriptions call it.
pub trait Resource {
    /// As in "No such order".
    const NAME: &'static str;
    /// Who owns one, as in "not the buyer".
    const OWNER: &'static str;
}

/// The answers about one of the caller's own resources, named by id (`responses(Owned<Order>)`):
/// 401, not signed in or not its owner, and 404, none with that id.
pub struct Owned<R>(PhantomData<R>);

impl<R: Resource> IntoResponses for Owned<R> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = Missing::<R>::responses();
        let not_owner = format!("{NOT_SIGNED_IN}, or not the {}", R::OWNER);
        responses.insert("401".to_owned(), error_response(&not_owner));
        responses
    }
}

/// 404: no resource of the kind with that id.
pub struct Missing<R>(PhantomData<R>);

impl<R: Resource> IntoResponses for Missing<R> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let description = format!("No such {}", R::NAME);
        BTreeMap::from([("404".to_owned(), error_response(&description))])
    }
}

/// 409: the resource's versioned writes kept losing to concurrent changes
/// ([`crate::events::update_if_current`]), answered `Order has changed`.
pub struct Contended<R>(PhantomData<R>);

impl<R: Resource> IntoResponses for Contended<R> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut name = R::NAME.chars();
        let capitalised: String = name
            .next()
            .into_iter()
            .flat_map(char::to_uppercase)
            .chain(name)
            .collect();
        let description = format!("`{capitalised} has changed`: concurrent changes kept winning");
        BTreeMap::from([("409".to_owned(), error_response(&description))])
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(RefOr::Ref(Ref::from_schema_name(ErrorBody::name())))),
        )
        .build()
        .into()
}

/// A service's routes with their documented operations: handlers are added with
/// `.routes(utoipa_axum::routes!(handler))`, which takes the path and method from the handler's
/// `#[utoipa::path]`; the same declaration then serves them ([`ServiceApi::router`]) and
/// describes them ([`ServiceApi::openapi`]), so a route and its operation never part.
pub struct ServiceApi<S>(OpenApiRouter<S>);

impl<S> ServiceApi<S>
where
    S: Send + Sync + Clone + 'static,
{
    /// No routes yet; `title` and `description` head the service's document.
    pub fn new(title: &str, description: &str) -> Self {
        let mut openapi = OpenApi::default();
        openapi.info.title = title.to_owned();
        openapi.info.description = Some(description.to_owned());
        openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
        openapi.info.license = None;
        Self(OpenApiRouter::with_openapi(openapi))
    }

    /// Adds a path's handlers (`utoipa_axum::routes!(a, b)`, one path, one method each).
    pub fn routes(self, routes: UtoipaMethodRouter<S>) -> Self {
        Self(self.0.routes(routes))
    }

    /// The routes, serving with `state`.
    pub fn router(self, state: S) -> Router {
        self.0.split_for_parts().0.with_state(state)
    }

    /// The service's OpenAPI document, completed with what every service shares.
    pub fn openapi(self) -> OpenApi {
        finish(self.0.into_openapi())
    }
}

/// Completes a service's (or the merged) document with what every service shares.
pub fn finish(mut openapi: OpenApi) -> OpenApi {
    Shared.modify(&mut openapi);
    openapi
}

struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::session::SESSION_COOKIE.to_owned(),
                "The session cookie set by sign-up and sign-in: base64 of `{\"jwt\":\"...\"}`, \
                 an HS256 token with claims `id`, `email`, `iat`, `exp`."
                    .to_owned(),
            ))),
        );
        let mut schemas = Vec::new();
        ErrorBody::schemas(&mut schemas);
        schemas.push((ErrorBody::name().into_owned(), ErrorBody::schema()));
        components.schemas.extend(schemas);
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                if takes_an_id(operation) {
                    answer_unless_said(operation, "400", INVALID_ID);
                }
                if needs_a_session(operation) {
                    answer_unless_said(operation, "401", NOT_SIGNED_IN);
                }
                for (status, description) in SHELL_STATUSES {
                    answer_unless_said(operation, status, description);
                }
            }
        }
    }
}

/// Documents `status` with the error body, unless the operation already does.
fn answer_unless_said(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error_response(description));
}

fn takes_an_id(operation: &Operation) -> bool {
    operation.parameters.iter().flatten().any(|parameter| {
        matches!(parameter, RefOr::T(parameter)
            if parameter.name == "id" && parameter.parameter_in == ParameterIn::Path)
    })
}

/// Whether the operation is for signed-in callers only (`security(("session" = []))`, without
/// the anonymous alternative `()`).
fn needs_a_session(operation: &Operation) -> bool {
    operation.security.as_ref().is_some_and(|requirements| {
        !requirements.is_empty() && !requirements.contains(&SecurityRequirement::default())
    })
}
