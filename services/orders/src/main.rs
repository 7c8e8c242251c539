use orders::{configuration::Settings, startup::Application};

#[tokio::main]
async fn main() {
    common::service::run("orders", Settings::from_env, Application::build).await;
}
