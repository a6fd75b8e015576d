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
        /// After SIGTERM or SIGINT, how long requests in flight and `waitUntil` work may take
        /// to finish before nanod exits anyway.
        #[arg(long = "drain-timeout", value_name = "SECONDS", default_value_t = 30.0)]
        drain_timeout: f64,
        /// Reload the config (as SIGHUP does) when it or a file it embeds changes.
        #[arg(long)]
        watch: bool,
        /// Serve `/metrics`, `/healthz` and `/readyz` on ADDR (`127.0.0.1:9090`; port 0 picks
        /// one). Off by default; metrics are recorded only with it.
        #[arg(long, value_name = "ADDR")]
        admin: Option<String>,
        /// How log lines on stderr look: `pretty` (plain lines) or `json` (one object a line).
        #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Pretty)]
        log_format: LogFormat,
        /// One log line per socket request (service, method, path, status, duration, request id).
        #[arg(long = "access-log", value_enum, default_value_t = Switch::On)]
        access_log: Switch,
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
    /// Print a config's capability graph: the services each service can reach (bindings,
    /// globalOutbound, what network services' allow/deny lists admit), the sockets in front,
    /// and the services no socket reaches. Checks the config as `check` does, but compiles and
    /// evaluates no Worker.
    Graph {
        /// The config file.
        config: PathBuf,
        /// The constant of type `Workerd.Config` (capnp only), as for `serve`.
        #[arg(value_name = "CONST")]
        const_name: Option<String>,
        /// `text` (for people) or `dot` (Graphviz: `nanod graph c.capnp --format dot | dot -Tsvg`).
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
        /// Set an external service's address, as for `serve`.
        #[arg(long = "external-addr", value_name = "NAME=ADDR")]
        external_addr: Vec<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum GraphFormat {
    Text,
    Dot,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Switch {
    On,
    Off,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = match &cli.command {
        Command::Serve { log_format, access_log, .. } => nanod_server::logging::LogOptions {
            format: match log_format {
                LogFormat::Pretty => nanod_server::logging::LogFormat::Pretty,
                LogFormat::Json => nanod_server::logging::LogFormat::Json,
            },
            access: *access_log == Switch::On,
        },
        _ => nanod_server::logging::LogOptions::default(),
    };
    nanod_server::logging::init(log);
    let outcome = run(cli);
    nanod_server::logging::flush();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
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
            drain_timeout,
            watch,
            admin,
            log_format: _,
            access_log: _,
        } => {
            let drain_timeout = std::time::Duration::try_from_secs_f64(drain_timeout)
                .map_err(|_| anyhow::anyhow!("--drain-timeout expects a number of seconds, got {drain_timeout}"))?;
            let config_name = config.display().to_string();
            // A reload (SIGHUP, --watch) loads the config exactly as start-up does.
            let loader = move || -> Result<nanod_server::lifecycle::Loaded, String> {
                let (mut config, files) =
                    load_with_files(&config, const_name.as_deref(), &external_addr).map_err(|e| format!("{e:#}"))?;
                override_directories(&mut config, &directory_path).map_err(|e| format!("{e:#}"))?;
                Ok(nanod_server::lifecycle::Loaded { config, files })
            };
            let nanod_server::lifecycle::Loaded { config, files } = loader().map_err(anyhow::Error::msg)?;
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
            // Before saying it listens, so a signal sent as soon as it does is handled.
            let lifecycle = nanod_server::lifecycle::Lifecycle::new(nanod_server::lifecycle::LifecycleOptions {
                drain_timeout,
                loader: Some(Box::new(loader)),
                config_name,
                watch: watch.then_some(files),
            })
            .map_err(|e| anyhow::anyhow!("cannot handle signals: {e}"))?;
            for (name, addr) in server.local_addrs() {
                tracing::info!("nanod: listening on {name}={addr}");
            }
            if let Some(addr) = admin {
                let bound = nanod_server::admin::start(&server, &addr)?;
                tracing::info!("nanod: admin listening on {bound}");
            }
            nanod_server::metrics::set_ready(true);
            match server.run_with(lifecycle)? {
                nanod_server::lifecycle::Shutdown::Forced => {
                    anyhow::bail!("nanod: stopped by a second signal before the drain finished")
                }
                _ => Ok(()),
            }
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
        Command::Graph { config, const_name, format, external_addr } => {
            let config = load(&config, const_name.as_deref(), &external_addr)?;
            let graph = nanod_server::graph::Graph::of(&config)?;
            let text = match format {
                GraphFormat::Text => graph.to_text(),
                GraphFormat::Dot => graph.to_dot(),
            };
            use std::io::Write as _;
            std::io::stdout().lock().write_all(text.as_bytes())?;
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
    load_with_files(path, const_name, external_addr).map(|(config, _)| config)
}

/// [`load`], also returning the files read (the config and what it embeds), for `--watch`.
fn load_with_files(
    path: &std::path::Path,
    const_name: Option<&str>,
    external_addr: &[String],
) -> anyhow::Result<(nanod_config::Config, Vec<PathBuf>)> {
    let (mut config, files) = nanod_config::load_with_files(path, const_name)?;
    for (name, addr) in name_value_pairs("--external-addr", external_addr)? {
        nanod_config::set_external_address(&mut config, &name, &addr).map_err(anyhow::Error::msg)?;
    }
    Ok((config, files))
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
