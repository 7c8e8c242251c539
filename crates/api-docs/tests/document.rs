//! The committed document is the code's, and no route escapes it.

use std::path::{Path, PathBuf};

const REGENERATE: &str = "run `cargo run -p api-docs -- write` and commit docs/openapi.json";

#[test]
fn the_committed_document_is_the_one_the_code_makes() {
    let committed = std::fs::read_to_string(api_docs::committed_path())
        .unwrap_or_else(|error| panic!("docs/openapi.json: {error}; {REGENERATE}"));
    let made = api_docs::render(&api_docs::merged());
    if committed != made {
        let line = committed
            .lines()
            .zip(made.lines())
            .position(|(a, b)| a != b)
            .map_or(committed.lines().count().min(made.lines().count()), |at| at)
            + 1;
        panic!("docs/openapi.json differs from the code from line {line} on; {REGENERATE}");
    }
}

#[test]
fn the_merged_document_has_every_services_operations() {
    let merged = api_docs::merged();
    let operations = |document: &utoipa::openapi::OpenApi| {
        let json = serde_json::to_value(document).unwrap();
        let mut found = Vec::new();
        for (path, item) in json["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                found.push(format!("{} {path}", method.to_uppercase()));
            }
        }
        found
    };
    let all = operations(&merged);
    for (service, document) in api_docs::services() {
        let own = operations(&document);
        assert!(!own.is_empty(), "{service} documents no operation");
        for operation in own {
            assert!(
                all.contains(&operation),
                "{operation} of {service} is not merged"
            );
        }
    }
    let version = serde_json::to_value(&merged).unwrap()["openapi"].clone();
    assert_eq!(version, "3.1.0");
}

/// Every route of a service is added with `OpenApiRouter::routes(routes!(handler))`, which takes
/// its path and method from the handler's `#[utoipa::path]`; axum's own ways of adding a route
/// (`.route(..)`, `.route_service(..)`, `.nest(..)`) would add one the document does not know.
/// And each `#[utoipa::path]` is one documented operation of its service.
#[test]
fn every_route_of_every_service_is_a_documented_operation() {
    for (service, document) in api_docs::services() {
        let source = workspace().join("services").join(service).join("src");
        let mut annotated = 0;
        for file in rust_files(&source) {
            let text = std::fs::read_to_string(&file).unwrap();
            for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
                assert!(
                    !text.contains(call),
                    "{} adds a route with `{call}..)`, outside the API's description: \
                     add it with `.routes(routes!(handler))` and a #[utoipa::path]",
                    file.display()
                );
            }
            annotated += text.matches("#[utoipa::path(").count();
        }
        let documented: usize = document
            .paths
            .paths
            .values()
            .map(|item| {
                [&item.get, &item.put, &item.post, &item.delete, &item.patch]
                    .iter()
                    .filter(|operation| operation.is_some())
                    .count()
            })
            .sum();
        assert_eq!(
            annotated, documented,
            "{service}: {annotated} handlers with #[utoipa::path], {documented} operations \
             in its document (a handler annotated but not routed?)"
        );
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}
