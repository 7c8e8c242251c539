//! The API's docs page (`/api/docs`, Swagger UI served by the client through the gateway)
//! renders, offline, every operation of every service in the merged document.

use serde_json::Value;

use crate::{chromedriver_or_skip, gateway, screenshot_dir, start_driver};

/// The merged document the page shows (its drift from the code is the api-docs tests' concern).
const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

#[tokio::test]
#[ignore = "needs the running fleet and Chromium; run by the e2e step"]
async fn the_docs_page_shows_every_services_operations() {
    let gateway = gateway();
    let Some(chromedriver) = chromedriver_or_skip() else {
        return;
    };
    let document: Value = serde_json::from_str(DOCUMENT).unwrap();
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            operations.push((method.to_uppercase(), path.clone(), id));
        }
    }
    let services = [
        "/api/users/",
        "/api/tickets",
        "/api/orders",
        "/api/payments",
    ];
    for prefix in services {
        assert!(
            operations
                .iter()
                .any(|(_, path, _)| path.starts_with(prefix)),
            "the document has no operation under {prefix}"
        );
    }

    let shots = screenshot_dir("api-docs");
    let driver = start_driver(&chromedriver).await;
    let reader = driver.session(&shots, "reader").await;
    reader.resize(1280, 3000).await;
    reader.goto(&format!("{gateway}/api/docs")).await;
    reader.wait_for(".info .title", "Ticketing", 20).await;
    for (method, path, id) in &operations {
        // Each operation's row: its method, path and operation id (`displayOperationId`).
        let row = reader
            .wait_for(&format!(".opblock-{}", method.to_lowercase()), id, 10)
            .await;
        // (Swagger UI puts zero-width spaces in paths, where a long one may wrap.)
        let text = reader.text(&row).await.replace('\u{200b}', "");
        assert!(
            text.contains(method.as_str()) && text.contains(path.as_str()),
            "{id}: the row says {text:?}, not {method} {path}"
        );
    }
    reader.screenshot("operations").await;
    reader.close().await;
    eprintln!(
        "the docs page shows all {} operations; screenshot: {}",
        operations.len(),
        shots.join("operations.png").display()
    );
}
