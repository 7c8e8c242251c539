//! What runs, written for programs (infra.json, with the programs that run it, so that a test
//! can restart a server) and for people (env.sh, to source).

use std::collections::BTreeMap;

use super::{DEFAULT_MONGO, SERVERS, Servers};
use crate::state::{INFRA_FILE, write_private};
use crate::supervisor::SuperviseError;
use crate::{Infra as InfraState, InfraServer};

impl Servers {
    /// What runs, for programs (infra.json, with the programs) and for people (env.sh).
    pub(super) fn write_state(&self) -> Result<(), SuperviseError> {
        let servers: BTreeMap<String, InfraServer> = SERVERS
            .iter()
            .filter_map(|server| {
                Some((
                    (*server).to_owned(),
                    InfraServer {
                        url: self.url(server)?,
                        port: self.port(server)?,
                        pid: self.pid(server),
                    },
                ))
            })
            .collect();
        let state = InfraState {
            dir: self.dir.clone(),
            mongo_kind: self.programs.mongo_kind.clone(),
            default_mongo: DEFAULT_MONGO.to_owned(),
            nats_monitor_url: self.nats_monitor_url(),
            servers,
            programs: Some(self.programs.clone()),
        };
        let json = serde_json::to_string_pretty(&state).expect("the state serialises");
        write_private(&self.dir.join(INFRA_FILE), &json)?;
        write_private(&self.dir.join("env.sh"), &env_sh(&state))?;
        Ok(())
    }
}

/// env.sh: each server's URL, port and pid, as shell exports.
fn env_sh(state: &InfraState) -> String {
    let quoted = |text: &str| format!("'{}'", text.replace('\'', r"'\''"));
    let dir = state.dir.display().to_string();
    let mut lines = vec![
        format!(
            "# Written by fleet infra (scripts/infra.sh); source it: . {}",
            quoted(&format!("{dir}/env.sh"))
        ),
        format!("export INFRA_DIR={}", quoted(&dir)),
    ];
    let mut export = |prefix: &str, url_name: &str, server: &InfraServer| {
        lines.push(format!("export {url_name}={}", quoted(&server.url)));
        lines.push(format!("export {prefix}_PORT={}", server.port));
        let pid = server.pid.map(|pid| pid.to_string()).unwrap_or_default();
        lines.push(format!("export {prefix}_PID={pid}"));
    };
    for (name, server) in &state.servers {
        let prefix = name.to_uppercase().replace('-', "_");
        let url_name = match name.as_str() {
            "stripe" => "STRIPE_API_BASE".to_owned(),
            _ => format!("{prefix}_URL"),
        };
        export(&prefix, &url_name, server);
    }
    if let Some(server) = state.servers.get(DEFAULT_MONGO) {
        export("MONGO", "MONGO_URL", server);
    }
    if let Some(monitor) = &state.nats_monitor_url {
        lines.push(format!("export NATS_MONITOR_URL={}", quoted(monitor)));
    }
    lines.push(format!("export MONGO_KIND={}", state.mongo_kind));
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn env_sh_exports_each_server_and_the_default_mongo() {
        let server = |port: u16, pid: Option<u32>| InfraServer {
            url: format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
            port,
            pid,
        };
        let state = InfraState {
            dir: PathBuf::from("/tmp/it's"),
            mongo_kind: "secantus".into(),
            default_mongo: DEFAULT_MONGO.into(),
            nats_monitor_url: None,
            servers: BTreeMap::from([
                ("tickets-mongo".to_owned(), server(4000, Some(12))),
                ("auth-mongo".to_owned(), server(4001, None)),
            ]),
            programs: None,
        };
        let env = env_sh(&state);
        assert!(env.contains("export INFRA_DIR='/tmp/it'\\''s'\n"), "{env}");
        assert!(env.contains("export TICKETS_MONGO_PORT=4000\n"), "{env}");
        assert!(env.contains("export AUTH_MONGO_PID=\n"), "{env}");
        assert!(env.contains(
            "export MONGO_URL='mongodb://127.0.0.1:4000/?directConnection=true'\nexport MONGO_PORT=4000\nexport MONGO_PID=12\n"
        ), "{env}");
        assert!(env.ends_with("export MONGO_KIND=secantus\n"), "{env}");
    }
}
