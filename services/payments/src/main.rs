use payments::{configuration::Settings, startup::Application};

#[tokio::main]
async fn main() {
    common::service::run("payments", Settings::from_env, Application::build).await;
}
