use tickets::{configuration::Settings, startup::Application};

#[tokio::main]
async fn main() {
    common::service::run("tickets", Settings::from_env, Application::build).await;
}
