use auth::{configuration::Settings, startup::Application};

#[tokio::main]
async fn main() {
    common::service::run("auth", Settings::from_env, Application::build).await;
}
