//! `fleet`: the fleet's description at work.
//!
//! - `fleet gateway-config --port P --nginx-dir D --log-dir L --instances auth=PORT[,PORT...] ...`
//!   prints the local gateway's nginx config (scripts/fleet.sh writes it to
//!   `$FLEET_DIR/nginx/nginx.conf`);
//! - `fleet describe [--write]` prints `docs/fleet.json`, or writes it;
//! - `fleet state --dir DIR --infra-dir DIR --gateway-port P` writes the running
//!   fleet's state (`DIR/fleet.json`, read by `fleet::State::load`) from scripts/fleet.sh's run
//!   directory; the session key comes from `JWT_KEY`, else from the state already there.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fleet::gateway;

#[derive(Parser)]
#[command(about = "The fleet's description: the local gateway's config, docs/fleet.json")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the local gateway's nginx config.
    GatewayConfig(GatewayArgs),
    /// Prints docs/fleet.json as the description makes it (--write: writes it).
    Describe {
        #[arg(long)]
        write: bool,
    },
    /// Writes the running fleet's state (DIR/fleet.json) from its run directory.
    State(StateArgs),
}

#[derive(clap::Args)]
struct StateArgs {
    /// The fleet's directory ($FLEET_DIR).
    #[arg(long)]
    dir: PathBuf,
    /// The directory of its infra servers (scripts/infra.sh's INFRA_DIR).
    #[arg(long)]
    infra_dir: PathBuf,
    #[arg(long)]
    gateway_port: u16,
}

fn write_state(args: StateArgs) -> Result<(), fleet::StateError> {
    let jwt_key = match std::env::var("JWT_KEY") {
        Ok(key) if !key.is_empty() => key,
        _ => fleet::State::load(&args.dir)?.jwt_key,
    };
    fleet::State::from_run_dir(&args.dir, &args.infra_dir, args.gateway_port, jwt_key)?.save()
}

#[derive(clap::Args)]
struct GatewayArgs {
    /// Port the gateway listens on (127.0.0.1, and [::1] where IPv6 exists).
    #[arg(long)]
    port: u16,
    /// Directory of nginx's pid file and temporary files.
    #[arg(long)]
    nginx_dir: String,
    /// Directory of the gateway's logs.
    #[arg(long)]
    log_dir: String,
    /// Write the access log (gateway-access.log in the log directory).
    #[arg(long)]
    access_log: bool,
    /// The user nginx's workers run as.
    #[arg(long)]
    user: Option<String>,
    /// Sign-ins + sign-ups per second per client address.
    #[arg(long, default_value_t = 20)]
    sign_in_rate: u32,
    /// A running service and the ports of its instances on 127.0.0.1: SERVICE=PORT[,PORT...]
    /// (one per service; a route whose service is not given answers 404).
    #[arg(long = "instances", value_parser = parse_instances)]
    instances: Vec<(&'static fleet::Service, Vec<u16>)>,
}

fn parse_instances(text: &str) -> Result<(&'static fleet::Service, Vec<u16>), String> {
    let (name, ports) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}': expected SERVICE=PORT[,PORT...]"))?;
    let service = fleet::service(name).ok_or_else(|| {
        let names: Vec<&str> = fleet::SERVICES.iter().map(|s| s.name).collect();
        format!("unknown service '{name}' (one of: {})", names.join(", "))
    })?;
    let ports = ports
        .split(',')
        .map(|port| port.parse().map_err(|_| format!("'{port}' is not a port")))
        .collect::<Result<Vec<u16>, String>>()?;
    Ok((service, ports))
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::GatewayConfig(args) => {
            let settings = gateway::Settings {
                port: args.port,
                // localhost may resolve to ::1 first (browsers, curl): listen there too when
                // this machine has IPv6.
                listen_ipv6: std::net::TcpListener::bind(("::1", 0)).is_ok(),
                nginx_dir: args.nginx_dir,
                log_dir: args.log_dir,
                access_log: args.access_log,
                user: args.user,
                sign_in_rate: args.sign_in_rate,
                instances: args.instances,
            };
            println!("{}", settings.render());
        }
        Command::Describe { write: false } => print!("{}", fleet::document()),
        Command::Describe { write: true } => {
            let path = fleet::document_path();
            if let Err(error) = std::fs::write(&path, fleet::document()) {
                eprintln!("cannot write {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
            println!("wrote {}", path.display());
        }
        Command::State(args) => {
            if let Err(error) = write_state(args) {
                eprintln!("fleet state: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
