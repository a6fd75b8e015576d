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
        /// Set an external service's address: `--external-addr backend=10.0.0.5:8080`. Repeatable.
        #[arg(long = "external-addr", value_name = "NAME=ADDR")]
        external_addr: Vec<String>,
    },
    /// Check a config and compile its Workers without serving.
    Check {
        config: PathBuf,
        #[arg(value_name = "CONST")]
        const_name: Option<String>,
        /// Set an external service's address, as for `serve`.
        #[arg(long = "external-addr", value_name = "NAME=ADDR")]
        external_addr: Vec<String>,
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
        Command::Serve { config, const_name, threads, socket_addr, external_addr } => {
            let config = load(&config, const_name.as_deref(), &external_addr)?;
            let socket_addrs = name_value_pairs("--socket-addr", &socket_addr)?;
            let options = nanod_server::ServeOptions { threads, socket_addrs };
            let server = nanod_server::Server::bind(&config, &options)?;
            for (name, addr) in server.local_addrs() {
                eprintln!("nanod: listening on {name}={addr}");
            }
            server.run()?;
            Ok(())
        }
        Command::Check { config, const_name, external_addr } => {
            let config = load(&config, const_name.as_deref(), &external_addr)?;
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            nanod_server::check(&config, threads)?;
            eprintln!("nanod: {} is valid", config_summary(&config));
            Ok(())
        }
    }
}

/// Loads the config and applies `--external-addr` overrides.
fn load(
    path: &std::path::Path,
    const_name: Option<&str>,
    external_addr: &[String],
) -> anyhow::Result<nanod_config::Config> {
    let mut config = nanod_config::load(path, const_name)?;
    for (name, addr) in name_value_pairs("--external-addr", external_addr)? {
        nanod_config::set_external_address(&mut config, &name, &addr).map_err(anyhow::Error::msg)?;
    }
    Ok(config)
}

/// `NAME=VALUE` arguments of `flag`, split.
fn name_value_pairs(flag: &str, specs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    specs
        .iter()
        .map(|spec| match spec.split_once('=') {
            Some((name, value)) => Ok((name.to_owned(), value.to_owned())),
            None => Err(anyhow::anyhow!("{flag} expects NAME=ADDR, got \"{spec}\"")),
        })
        .collect()
}

fn config_summary(config: &nanod_config::Config) -> String {
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!("config with {} and {}", count(config.services.len(), "service"), count(config.sockets.len(), "socket"))
}
