//! The `nanod` binary: parses the command line, loads the config, starts the server.
//! It only wires crates together; every decision lives in a library.

use std::path::PathBuf;

// glibc malloc showed up at ~16% of CPU in the service-binding profile; mimalloc is faster for
// the many small short-lived allocations of a request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// `nanod --version`: the version and the newest compatibility date this binary supports.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} (newest compatibility date {})",
        env!("CARGO_PKG_VERSION"),
        nanod_config::compat::NEWEST_COMPATIBILITY_DATE
    )
});

#[derive(Parser)]
#[command(name = "nanod", version = VERSION.as_str(), about = "A nanoservice runtime for JavaScript Workers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Compatibility options of `serve` and `check` (workerd's meaning).
#[derive(Args)]
struct CompatArgs {
    /// Permit experimental compatibility flags, which may break or go away in a future version.
    #[arg(long)]
    experimental: bool,
    /// The compatibility date of every Worker; Workers must then not set `compatibilityDate`.
    #[arg(long = "compat-date", value_name = "DATE")]
    compat_date: Option<String>,
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
        #[command(flatten)]
        compat: CompatArgs,
        /// Event-loop threads (default: one per available core).
        #[arg(long)]
        threads: Option<usize>,
        /// Override a socket's address: `--socket-addr http=127.0.0.1:8080`. Repeatable.
        #[arg(long = "socket-addr", value_name = "NAME=ADDR")]
        socket_addr: Vec<String>,
        /// Set an external service's address: `--external-addr backend=10.0.0.5:8080`. Repeatable.
        #[arg(long = "external-addr", value_name = "NAME=ADDR")]
        external_addr: Vec<String>,
        /// Point disk service NAME at PATH instead of the config's path. Repeatable.
        #[arg(short = 'd', long = "directory-path", value_name = "NAME=PATH")]
        directory_path: Vec<String>,
        /// wrangler's `--test-scheduled`: `GET /__scheduled?cron=...` on a Worker runs its
        /// `scheduled()` handler (workerd has no such endpoint).
        #[arg(long = "test-scheduled")]
        test_scheduled: bool,
    },
    /// Run the `test()` handlers of a config's Workers, as `workerd test` does. FILTER is
    /// `<service-glob>`, `<service-glob>:<entrypoint-glob>` or
    /// `<const-name>:<service-glob>:<entrypoint-glob>`.
    Test {
        config: PathBuf,
        filter: Option<String>,
        #[command(flatten)]
        compat: CompatArgs,
        /// Deterministic `Math.random` (a fixed-seed generator in every isolate).
        #[arg(long)]
        predictable: bool,
        /// Accepted for workerd compatibility; nanod has no autogates.
        #[arg(long = "all-autogates")]
        all_autogates: bool,
        /// Point disk service NAME at PATH instead of the config's path. Repeatable.
        #[arg(short = 'd', long = "directory-path", value_name = "NAME=PATH")]
        directory_path: Vec<String>,
        /// Set an external service's address, as for `serve`.
        #[arg(short = 'e', long = "external-addr", value_name = "NAME=ADDR")]
        external_addr: Vec<String>,
    },
    /// Check a config and compile its Workers without serving.
    Check {
        config: PathBuf,
        #[arg(value_name = "CONST")]
        const_name: Option<String>,
        #[command(flatten)]
        compat: CompatArgs,
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
        Command::Serve {
            config,
            const_name,
            compat,
            threads,
            socket_addr,
            external_addr,
            directory_path,
            test_scheduled,
        } => {
            let mut config = load(&config, const_name.as_deref(), &external_addr)?;
            override_directories(&mut config, &directory_path)?;
            nanod_server::service::worker::set_options(nanod_server::service::worker::WorkerOptions {
                test_scheduled,
                predictable: false,
            });
            let socket_addrs = name_value_pairs("--socket-addr", &socket_addr)?;
            let options = nanod_server::ServeOptions {
                threads,
                socket_addrs,
                experimental: compat.experimental,
                compat_date: compat.compat_date,
            };
            let server = nanod_server::Server::bind(&config, &options)?;
            for (name, addr) in server.local_addrs() {
                eprintln!("nanod: listening on {name}={addr}");
            }
            server.run()?;
            Ok(())
        }
        Command::Test { config, filter, compat, predictable, all_autogates: _, directory_path, external_addr } => {
            let (filter, const_name) = nanod_server::test_runner::Filter::parse(filter.as_deref().unwrap_or("*"));
            let mut config = load(&config, const_name.as_deref(), &external_addr)?;
            override_directories(&mut config, &directory_path)?;
            nanod_server::service::worker::set_options(nanod_server::service::worker::WorkerOptions {
                test_scheduled: false,
                predictable,
            });
            let compat = nanod_config::compat::Options {
                experimental: compat.experimental,
                compat_date: compat.compat_date,
                ..Default::default()
            };
            let prepared = std::sync::Arc::new(nanod_server::Prepared::new(&config, &compat)?);
            let order: Vec<String> = config.services.iter().map(|s| s.name.clone()).collect();
            let summary = nanod_server::test_runner::run(prepared, &order, &filter)?;
            if summary.passed + summary.failed == 0 {
                anyhow::bail!("No tests found!");
            }
            eprintln!("{} passed, {} failed", summary.passed, summary.failed);
            if summary.failed > 0 {
                anyhow::bail!("Tests failed!");
            }
            Ok(())
        }
        Command::Check { config, const_name, compat, external_addr } => {
            let config = load(&config, const_name.as_deref(), &external_addr)?;
            let options = nanod_server::ServeOptions {
                experimental: compat.experimental,
                compat_date: compat.compat_date,
                ..Default::default()
            };
            nanod_server::check(&config, &options)?;
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

/// workerd's `-d NAME=PATH`: points disk service NAME at PATH.
fn override_directories(config: &mut nanod_config::Config, specs: &[String]) -> anyhow::Result<()> {
    for (name, path) in name_value_pairs("--directory-path", specs)? {
        nanod_config::set_directory_path(config, &name, &path).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// `NAME=VALUE` arguments of `flag`, split.
fn name_value_pairs(flag: &str, specs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    specs
        .iter()
        .map(|spec| match spec.split_once('=') {
            Some((name, value)) => Ok((name.to_owned(), value.to_owned())),
            None => {
                let value = if flag == "--directory-path" { "PATH" } else { "ADDR" };
                Err(anyhow::anyhow!("{flag} expects NAME={value}, got \"{spec}\""))
            }
        })
        .collect()
}

fn config_summary(config: &nanod_config::Config) -> String {
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!("config with {} and {}", count(config.services.len(), "service"), count(config.sockets.len(), "socket"))
}
