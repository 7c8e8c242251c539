//! `fleet`: the fleet's description at work.
//!
//! - `fleet describe [--write]` prints `docs/fleet.json`, or writes it;
//! - `fleet state --dir DIR --infra-dir DIR --gateway-port P` writes the running
//!   fleet's state again (`DIR/fleet.json`, read by `fleet::State::load`) from its run
//!   directory (and env.sh, the same for people); the session key comes from `JWT_KEY`, else from
//!   the state already there;
//! - `fleet up --dir DIR --infra-dir DIR --bin-dir DIR --repo DIR --gateway-port P --instance auth
//!   ... [--detach]` starts the fleet on the infra scripts/infra.sh started (scripts/fleet.sh
//!   comes here once it has built the binaries), and `fleet stop --dir DIR` stops it;
//! - `fleet kill|start|restart INSTANCE --dir DIR`: one instance of a detached fleet (SIGKILL; start
//!   again as first started, waiting for its readiness; graceful stop, then start);
//!   `fleet status --dir DIR`: what runs;
//! - `fleet infra start|stop [SERVER...]`, `fleet infra kill|restart SERVER`, `fleet infra status`:
//!   the infra servers of `$INFRA_DIR` (scripts/infra.sh installs them and comes here).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fleet::infra::{Programs, Servers};
use nix::sys::signal::Signal;

#[derive(Parser)]
#[command(about = "The fleet described once: starts and stops it locally, writes docs/fleet.json")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// Starts every instance, the gateway and Prometheus on the infra scripts/infra.sh started,
    /// writes the state and prints `ready: URL`; then watches them (or, --detach, leaves them).
    Up(UpArgs),
    /// Stops what the fleet in DIR started (gateway and Prometheus first, then the instances).
    Stop {
        #[arg(long)]
        dir: PathBuf,
    },
    /// What runs: the gateway, Prometheus, each instance.
    Status {
        #[arg(long)]
        dir: PathBuf,
    },
    /// The infra servers of $INFRA_DIR, run by the programs scripts/infra.sh names in the
    /// environment (NATS_BIN, MONGO_KIND, MONGO_BIN, VENV_PY, STRIPE_MOCK_DIR).
    #[command(subcommand)]
    Infra(InfraCommand),
}

/// SERVER: nats, redis, auth-mongo, tickets-mongo, orders-mongo, payments-mongo, stripe, or
/// mongo (the four MongoDB servers).
#[derive(Subcommand)]
enum InfraCommand {
    /// Starts the servers (all by default) that do not run, on the port and data they had;
    /// waits until each serves; writes $INFRA_DIR/infra.json and env.sh.
    Start { servers: Vec<String> },
    /// SIGTERM, then SIGKILL after INFRA_STOP_GRACE seconds; data and logs are kept.
    Stop { servers: Vec<String> },
    /// SIGKILL at once: a crash.
    Kill { server: String },
    /// A graceful stop, then a start on the same port and data.
    Restart { server: String },
    /// What runs (exit 1 when a server is down).
    Status,
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

#[derive(clap::Args)]
struct UpArgs {
    /// The fleet's directory ($FLEET_DIR).
    #[arg(long)]
    dir: PathBuf,
    /// The directory of its infra servers (scripts/infra.sh's INFRA_DIR).
    #[arg(long)]
    infra_dir: PathBuf,
    /// Where the services' binaries are.
    #[arg(long)]
    bin_dir: PathBuf,
    /// The repository (for Prometheus's configuration).
    #[arg(long)]
    repo: PathBuf,
    #[arg(long)]
    gateway_port: u16,
    /// The instances, in start-up order: SERVICE for the first, SERVICE#i for the i-th.
    #[arg(long = "instance")]
    instances: Vec<String>,
    /// Exit once ready and leave the fleet running.
    #[arg(long)]
    detach: bool,
}

/// The commands that start and stop processes: up and stop (the fleet), kill, start and restart
/// (one instance), saying what was done. Returns the exit code.
async fn supervise(command: Command) -> Result<u8, fleet::SuperviseError> {
    match command {
        Command::Up(args) => {
            let launch = fleet::launch::Launch {
                dir: args.dir,
                infra_dir: args.infra_dir,
                bin_dir: args.bin_dir,
                repo: args.repo,
                gateway_port: args.gateway_port,
                instances: args.instances,
                // scripts/fleet.sh sets it.
                jwt_key: std::env::var("JWT_KEY").unwrap_or_default(),
            };
            return fleet::launch::up(launch, args.detach).await;
        }
        Command::Stop { dir } => {
            let grace = fleet::Supervisor::of(&dir).stop_grace;
            let names = fleet::launch::recorded(&dir);
            fleet::launch::stop(&dir, &names, grace).await?;
        }
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
        Command::Infra(command) => return infra(command).await,
        _ => unreachable!("not a supervising command"),
    }
    Ok(0)
}

async fn infra(command: InfraCommand) -> Result<u8, fleet::SuperviseError> {
    let dir = std::env::var_os("INFRA_DIR").ok_or_else(|| {
        fleet::SuperviseError::Io("INFRA_DIR".into(), std::io::ErrorKind::NotFound.into())
    })?;
    let servers = Servers::new(dir, Programs::from_env());
    match command {
        InfraCommand::Start { servers: names } => {
            servers.start(&Servers::named(&names)?).await?;
        }
        InfraCommand::Stop { servers: names } => {
            servers
                .stop(&Servers::named(&names)?, Signal::SIGTERM)
                .await?;
        }
        InfraCommand::Kill { server } => {
            let named = Servers::named(&[server])?;
            servers.stop(&named, Signal::SIGKILL).await?;
        }
        InfraCommand::Restart { server } => servers.restart(&Servers::named(&[server])?).await?,
        InfraCommand::Status => {
            let (lines, all) = servers.status().await;
            println!("{lines}");
            return Ok(u8::from(!all));
        }
    }
    Ok(0)
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

fn main() -> ExitCode {
    match Cli::parse().command {
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
        command => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            return match runtime.block_on(supervise(command)) {
                Ok(code) => ExitCode::from(code),
                Err(error) => {
                    eprintln!("fleet: error: {error}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    ExitCode::SUCCESS
}
