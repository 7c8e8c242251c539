//! `api-docs write`: writes the merged document to docs/openapi.json.
//! `api-docs [SERVICE]`: prints the merged document, or one service's.

fn main() {
    let argument = std::env::args().nth(1);
    let document = match argument.as_deref() {
        None | Some("write") => api_docs::merged(),
        Some(name) => match api_docs::services().into_iter().find(|(n, _)| *n == name) {
            Some((_, document)) => document,
            None => {
                eprintln!("usage: api-docs [write | auth | tickets | orders | payments]");
                std::process::exit(2);
            }
        },
    };
    let json = api_docs::render(&document);
    if argument.as_deref() == Some("write") {
        let path = api_docs::committed_path();
        if let Err(error) = std::fs::write(&path, json) {
            eprintln!("cannot write {}: {error}", path.display());
            std::process::exit(1);
        }
        println!("wrote {}", path.display());
    } else {
        print!("{json}");
    }
}
