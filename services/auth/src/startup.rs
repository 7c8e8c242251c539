use common::Sessions;
use common::events::EventBus;
use common::http::Readiness;
use common::revocation::Revocations;
use common::service::{Server, StartupError};
use common::session::SESSION_TTL;
use common::tasks::BackgroundTasks;
use secrecy::ExposeSecret;

use crate::configuration::Settings;
use crate::password_hashing::PasswordHashing;
use crate::routes;
use crate::state::{AppState, SignInLimits};
use crate::store::Users;

pub struct Application;

impl Application {
    /// Connects, prepares the database and binds the port (0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let service = &settings.service;
        let db = common::mongo::connect(&service.mongo_url, "auth").await?;
        common::mongo::prepare_when_reachable(&db, &[Users::schema()]).await?;
        let users = Users::new(
            &db,
            PasswordHashing::new(settings.password_hashes_in_parallel),
        );
        let bus = EventBus::from_settings(&service.events).await?;
        let mut background = BackgroundTasks::new();
        let (revocations, follower) =
            Revocations::follow(&bus, SESSION_TTL, background.shutdown_token()).await?;
        background.add(follower);
        let state = AppState {
            sessions: Sessions::new(
                service.http.jwt_key.expose_secret(),
                service.http.cookie_secure,
            )
            .with_revocations(revocations),
            users,
            limits: SignInLimits::new(&service.http.rate_limits),
        };
        // Not NATS: signing up and in do without it (only signing out needs it, and says so).
        let readiness = Readiness::new().mongo(db);
        Server::bind(
            "auth",
            service.http.ports(),
            routes::api().router(state),
            readiness,
            background,
        )
        .await
    }
}
