use client::{configuration::Settings, startup::Application};
use common::settings::or_exit;

#[tokio::main]
async fn main() {
    common::telemetry::init("client");
    let settings = or_exit(Settings::from_env());
    let app = or_exit(Application::build(settings).await);
    or_exit(app.run_until_stopped(common::http::shutdown_signal()).await);
}
