//! `fleet`: the fleet's description at work.
//!
//! - `fleet gateway-config --port P --nginx-dir D --log-dir L --instances auth=PORT[,PORT...] ...`
//!   prints the local gateway's nginx config (scripts/fleet.sh writes it to
//!   `$FLEET_DIR/nginx/nginx.conf`);
//! - `fleet describe [--write]` prints `docs/fleet.json`, or writes it;
//! - `fleet state --dir DIR --infra-dir DIR --gateway-port P` writes the running
//!   fleet's state (`DIR/fleet.json`, read by `fleet::State::load`) from scripts/fleet.sh's run
//!   directory (and env.sh, the same for people); the session key comes from `JWT_KEY`, else from
//!   the state already there;
//! - `fleet kill|start|restart INSTANCE --dir DIR`: one instance of a detached fleet (SIGKILL; start
//!   again as first started, waiting for its readiness; graceful stop, then start);
//!   `fleet status --dir DIR`: what runs.

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
    /// Writes the running fleet's state (DIR/fleet.json, DIR/env.sh) from its run directory.
    State(StateArgs),
    /// SIGKILL one instance of a detached fleet (SERVICE or SERVICE#i): a crash.
    Kill(InstanceArgs),
    /// Starts a stopped instance again as it was first started; waits for its readiness.
    Start(InstanceArgs),
    /// Graceful stop (SIGTERM, SIGKILL after FLEET_STOP_GRACE), then start.
    Restart(InstanceArgs),
    /// What runs: the gateway, Prometheus, each instance.
    Status {
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct InstanceArgs {
    /// SERVICE (its first instance) or SERVICE#i.
    instance: String,
    /// The fleet's directory ($FLEET_DIR).
    #[arg(long)]
    dir: PathBuf,
}

/// start, or restart (a graceful stop first), waiting for its readiness.
async fn start(args: &InstanceArgs, restart: bool) -> Result<(), fleet::SuperviseError> {
    let supervisor = fleet::Supervisor::of(&args.dir);
    let (done, pid) = if restart {
        ("restarted", supervisor.restart(&args.instance).await?)
    } else {
        ("started again", supervisor.start(&args.instance).await?)
    };
    println!("fleet: {done} {} (pid {pid}); it is ready", args.instance);
    Ok(())
}

/// kill | start | restart, saying what was done as scripts/fleet.sh did.
fn supervise(command: Command) -> Result<(), fleet::SuperviseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        match command {
            Command::Kill(args) => {
                match fleet::Supervisor::of(&args.dir)
                    .kill(&args.instance)
                    .await?
                {
                    Some(pid) => println!("fleet: killed {} (pid {pid}, SIGKILL)", args.instance),
                    None => println!("fleet: {} does not run", args.instance),
                }
            }
            Command::Start(args) => start(&args, false).await?,
            Command::Restart(args) => start(&args, true).await?,
            _ => unreachable!("not a supervising command"),
        }
        Ok(())
    })
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
        Command::Status { dir } => println!("{}", fleet::Supervisor::of(dir).status()),
        command @ (Command::Kill(_) | Command::Start(_) | Command::Restart(_)) => {
            if let Err(error) = supervise(command) {
                eprintln!("fleet: error: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
