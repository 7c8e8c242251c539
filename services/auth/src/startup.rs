use common::Sessions;
use common::http::Readiness;
use common::service::{Server, StartupError};
use common::tasks::BackgroundTasks;
use secrecy::ExposeSecret;

use crate::configuration::Settings;
use crate::models::user::Users;
use crate::routes;
use crate::state::{AppState, SignInLimits};

pub struct Application;

impl Application {
    /// Connects, prepares the database and binds the port (0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let db = common::mongo::connect(&settings.mongo_url, "auth").await?;
        common::mongo::prepare_when_reachable(&db, &[Users::schema()]).await?;
        let users = Users::new(&db);
        let state = AppState {
            sessions: Sessions::new(
                settings.http.jwt_key.expose_secret(),
                settings.http.cookie_secure,
            ),
            users,
            limits: SignInLimits::new(&settings.http.rate_limits),
        };
        let readiness = Readiness::new().mongo(db);
        Server::bind(
            "auth",
            settings.http.ports(),
            routes::router(state),
            readiness,
            BackgroundTasks::new(),
        )
        .await
    }
}
