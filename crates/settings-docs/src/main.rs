//! `settings-docs write`: writes the settings of every service to docs/settings.json.
//! `settings-docs`: prints them.

fn main() {
    let services = settings_docs::services().unwrap_or_else(|error| {
        eprintln!("a configuration cannot be listed: {error}");
        std::process::exit(1)
    });
    let json = settings_docs::render(&services);
    match std::env::args().nth(1).as_deref() {
        None => print!("{json}"),
        Some("write") => {
            let path = settings_docs::committed_path();
            if let Err(error) = std::fs::write(&path, json) {
                eprintln!("cannot write {}: {error}", path.display());
                std::process::exit(1);
            }
            println!("wrote {}", path.display());
        }
        Some(_) => {
            eprintln!("usage: settings-docs [write]");
            std::process::exit(2);
        }
    }
}
