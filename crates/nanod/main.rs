//! The `nanod` binary: parses the command line, loads the config, starts the server.
//! It only wires crates together; every decision lives in a library.

use std::path::PathBuf;

// glibc malloc showed up at ~16% of CPU in the service-binding profile; mimalloc is faster for
// the many small short-lived allocations of a request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "nanod", version, about = "A nanoservice runtime for JavaScript Workers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a config: workerd's Cap'n Proto text (`*.capnp`) or `nanod.toml`.
    Serve {
        /// The config file.
        config: PathBuf,
        /// The constant of type `Workerd.Config` to serve (capnp only); optional when the file
        /// has exactly one.
        #[arg(value_name = "CONST")]
        const_name: Option<String>,
        /// Event-loop threads (default: one per available core).
        #[arg(long)]
        threads: Option<usize>,
        /// Override a socket's address: `--socket-addr http=127.0.0.1:8080`. Repeatable.
        #[arg(long = "socket-addr", value_name = "NAME=ADDR")]
        socket_addr: Vec<String>,
    },
    /// Check a config and compile its Workers without serving.
    Check {
        config: PathBuf,
        #[arg(value_name = "CONST")]
        const_name: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config, const_name, threads, socket_addr } => {
            let config = nanod_config::load(&config, const_name.as_deref())?;
            let mut socket_addrs = Vec::new();
            for spec in socket_addr {
                let (name, addr) = spec
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--socket-addr expects NAME=ADDR, got \"{spec}\""))?;
                socket_addrs.push((name.to_owned(), addr.to_owned()));
            }
            let options = nanod_server::ServeOptions { threads, socket_addrs };
            let server = nanod_server::Server::bind(&config, &options)?;
            for (name, addr) in server.local_addrs() {
                eprintln!("nanod: listening on {name}={addr}");
            }
            server.run()?;
            Ok(())
        }
        Command::Check { config, const_name } => {
            let config = nanod_config::load(&config, const_name.as_deref())?;
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            nanod_server::check(&config, threads)?;
            eprintln!("nanod: {} is valid", config_summary(&config));
            Ok(())
        }
    }
}

fn config_summary(config: &nanod_config::Config) -> String {
    format!("config with {} services and {} sockets", config.services.len(), config.sockets.len())
}
