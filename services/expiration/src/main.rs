use expiration::{configuration::Settings, startup::Application};

#[tokio::main]
async fn main() {
    common::service::run("expiration", Settings::from_env, Application::build).await;
}
