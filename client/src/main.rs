use client::{configuration::Settings, startup::Application};

#[tokio::main]
async fn main() {
    common::service::run("client", Settings::from_env, Application::build).await;
}
