//! The API's OpenAPI 3.1 description, made from the code: each service's handlers carry a
//! `#[utoipa::path]` with the statuses they answer, registered with their routes through
//! [`OpenApiRouter`] (so a route and its operation are one declaration), and this module adds
//! what every service shares — the error shape, the `session` cookie, and the statuses the
//! HTTP shell ([`crate::http`]) answers for any route.

use axum::Router;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, RefOr};
use utoipa::{Modify, PartialSchema, ToSchema};
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
        let error_ref = RefOr::Ref(utoipa::openapi::Ref::from_schema_name(ErrorBody::name()));
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, description) in SHELL_STATUSES {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(description)
                                .content("application/json", Content::new(Some(error_ref.clone())))
                                .build()
                                .into()
                        });
                }
            }
        }
    }
}
