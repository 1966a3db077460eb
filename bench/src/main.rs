//! `helpline-bench`: a load generator that starts the real helpline server (`helpline
//! demo`) as a child process and drives it over loopback, to measure:
//!
//! - `latency`: requester → helper delivery latency with many active conversations;
//! - `pingpong`: the highest sustained durable message rate (every message is
//!   acknowledged only after its commit);
//! - `idle`: server memory per idle requester socket;
//! - `all`: the three in sequence, each on a fresh server and data directory;
//! - `peers`: the same workloads with one client against Helpline, InspIRCd and Synapse.
//!
//! Results are printed and written to a marked section of `docs/PERFORMANCE.md`.

mod client;
mod console;
mod cpu;
mod flood;
mod idle;
mod latency;
mod machine;
mod marker;
mod peers;
mod pingpong;
mod report;
mod server;
mod stats;
mod storm;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::server::ServerOptions;

#[derive(Parser)]
#[command(name = "helpline-bench", about = "Load generator for the helpline server (loopback only)")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Subcommand, Clone, Copy)]
enum Scenario {
    /// Requester → helper delivery latency at N active conversations.
    Latency,
    /// Highest sustained durable message rate: conversations ping-ponging.
    Pingpong,
    /// Server memory per idle requester socket.
    Idle,
    /// The helper console's pages and live updates on a database seeded with many conversations.
    Console,
    /// The four scenarios in sequence, each on a fresh server.
    All,
    /// Open-loop latency and ping-pong against Helpline, InspIRCd and Synapse, one client.
    Peers,
    /// N requester sockets dropped at once and reconnecting within a few seconds.
    Storm,
    /// One node and two nodes on PostgreSQL, the peers' workloads: rates and each node's CPU.
    Nodes,
    /// Other networks' request latency, quiet and while one network floods the server.
    Flood,
}

/// One measurement that a scenario runs.
#[derive(Clone, Copy)]
enum Run {
    Latency,
    Pingpong,
    Idle,
    Console,
    Peers,
    Storm,
    Nodes,
    Flood,
}

impl Scenario {
    fn runs(self) -> &'static [Run] {
        match self {
            Self::Latency => &[Run::Latency],
            Self::Pingpong => &[Run::Pingpong],
            Self::Idle => &[Run::Idle],
            Self::Console => &[Run::Console],
            Self::All => &[Run::Latency, Run::Pingpong, Run::Idle, Run::Console],
            Self::Peers => &[Run::Peers],
            Self::Storm => &[Run::Storm],
            Self::Nodes => &[Run::Nodes],
            Self::Flood => &[Run::Flood],
        }
    }
}

/// Every option applies to every subcommand; each scenario reads its own.
#[derive(Args, Clone)]
pub struct Settings {
    /// The helpline binary [default: `helpline` next to this binary].
    #[arg(long, global = true, value_name = "PATH")]
    server_bin: Option<PathBuf>,
    /// SQLite `synchronous` setting of the server.
    #[arg(long, global = true, value_enum, default_value_t = Synchronous::Full)]
    synchronous: Synchronous,
    /// Conversations followed by each helper socket (all sockets are the demo helper's).
    #[arg(long, global = true, default_value_t = 10, value_name = "N")]
    convs_per_helper: usize,

    /// latency: active conversations.
    #[arg(long, global = true, default_value_t = 1000, value_name = "N")]
    conversations: usize,
    /// latency: seconds between two messages of one requester.
    #[arg(long, global = true, default_value_t = 5.0, value_name = "SECS")]
    interval: f64,
    /// latency: seconds of warm-up before measuring.
    #[arg(long, global = true, default_value_t = 10.0, value_name = "SECS")]
    warmup: f64,
    /// latency: conversations seeded into the database first (`helpline seed`; 0 = none).
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    stored: u64,
    /// latency: seconds measured.
    #[arg(long, global = true, default_value_t = 60.0, value_name = "SECS")]
    duration: f64,

    /// pingpong: concurrent conversations, one run (and one fresh server) each.
    #[arg(long, global = true, value_delimiter = ',', default_value = "50,200,1000", value_name = "LIST")]
    concurrency: Vec<usize>,
    /// pingpong: seconds of warm-up before measuring, per run.
    #[arg(long, global = true, default_value_t = 5.0, value_name = "SECS")]
    pingpong_warmup: f64,
    /// pingpong: seconds measured, per run.
    #[arg(long, global = true, default_value_t = 20.0, value_name = "SECS")]
    pingpong_duration: f64,

    /// idle: requester sockets opened.
    #[arg(long, global = true, default_value_t = 10_000, value_name = "N")]
    sockets: usize,

    /// console: conversations seeded into the database first.
    #[arg(long, global = true, default_value_t = 1_000_000, value_name = "N")]
    seed_conversations: u64,
    /// console: requests timed per page.
    #[arg(long, global = true, default_value_t = 200, value_name = "N")]
    page_requests: usize,
    /// console: new requests timed from creation to the dashboard.
    #[arg(long, global = true, default_value_t = 100, value_name = "N")]
    live_updates: usize,

    /// storm: requester sockets dropped and reconnecting.
    #[arg(long, global = true, default_value_t = 10_000, value_name = "N")]
    storm_clients: usize,
    /// storm: seconds over which their reconnects are spread.
    #[arg(long, global = true, default_value_t = 10.0, value_name = "SECS")]
    storm_spread: f64,
    /// storm: claim every conversation first (active, no queue position to work out).
    #[arg(long, global = true)]
    storm_claimed: bool,

    /// flood: networks of the normal load (each reads once a second).
    #[arg(long, global = true, default_value_t = 10, value_name = "N")]
    flood_networks: u8,
    /// flood: seconds each phase (quiet, flooded) lasts.
    #[arg(long, global = true, default_value_t = 20.0, value_name = "SECS")]
    flood_duration: f64,

    /// peers: the servers compared, in this order.
    #[arg(
        long,
        global = true,
        value_enum,
        value_delimiter = ',',
        default_value = "inspircd,helpline,helpline-v1,helpline-postgres,synapse",
        value_name = "LIST"
    )]
    peers: Vec<peers::Peer>,
    /// peers: ping-pong sizes (pairs), one fresh server each.
    #[arg(long, global = true, value_delimiter = ',', default_value = "50,200,1000", value_name = "LIST")]
    peer_pingpong: Vec<usize>,
    /// peers: open-loop sizes (pairs, one message every --interval each). Each pair is two
    /// sockets at both ends: 9,000 pairs fit the 20,000 open files a process gets here.
    #[arg(long, global = true, value_delimiter = ',', default_value = "1000,9000", value_name = "LIST")]
    peer_latency: Vec<usize>,
    /// peers: seconds of warm-up, per run.
    #[arg(long, global = true, default_value_t = 5.0, value_name = "SECS")]
    peer_warmup: f64,
    /// peers: seconds measured, per run.
    #[arg(long, global = true, default_value_t = 15.0, value_name = "SECS")]
    peer_duration: f64,
    /// peers: Synapse's ping-pong sizes.
    #[arg(long, global = true, value_delimiter = ',', default_value = "20", value_name = "LIST")]
    synapse_pingpong: Vec<usize>,
    /// peers: Synapse's open-loop sizes.
    #[arg(long, global = true, value_delimiter = ',', default_value = "100", value_name = "LIST")]
    synapse_latency: Vec<usize>,
    /// peers: the Python with matrix-synapse installed [default: target/bench-venv/bin/python
    /// of this workspace, made by scripts/bench-peers].
    #[arg(long, global = true, value_name = "PATH")]
    synapse_python: Option<PathBuf>,
    /// peers: a PostgreSQL database to run `CREATE DATABASE` on.
    #[arg(
        long,
        global = true,
        default_value = "postgres://postgres@127.0.0.1:5432/postgres",
        value_name = "URL"
    )]
    postgres_admin_url: String,

    /// The Markdown file whose bench sections are written or replaced [default:
    /// docs/PERFORMANCE.md of this workspace].
    #[arg(long, global = true, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print the results only; leave the report file alone.
    #[arg(long, global = true)]
    no_report: bool,
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Synchronous {
    Full,
    Normal,
}

impl Synchronous {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Normal => "normal",
        }
    }
}

/// `docs/PERFORMANCE.md` of the workspace this bench was built in.
fn default_report() -> PathBuf {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    bench.parent().unwrap_or(bench).join("docs").join("PERFORMANCE.md")
}

fn seconds(value: f64, name: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .with_context(|| format!("--{name} must be a non-negative number of seconds"))
}

impl Settings {
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.conversations > 0, "--conversations must be at least 1");
        anyhow::ensure!(self.interval > 0.0, "--interval must be more than 0 seconds");
        anyhow::ensure!(self.convs_per_helper > 0, "--convs-per-helper must be at least 1");
        anyhow::ensure!(
            !self.concurrency.is_empty() && !self.concurrency.contains(&0),
            "--concurrency must list numbers of at least 1"
        );
        anyhow::ensure!(self.sockets > 0, "--sockets must be at least 1");
        Ok(())
    }
}

/// Open files wanted: both ends of the largest runs, with room to spare.
const OPEN_FILES: u64 = 262_144;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Built together with the server, reqwest may carry its TLS without a default provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Thousands of sockets need thousands of file descriptors; the server raises its own.
    // As root the hard limit itself can go up (10,000 pairs are 20,000 client sockets,
    // and as many on the server, which inherits the limit); otherwise up to it.
    if rlimit::setrlimit(rlimit::Resource::NOFILE, OPEN_FILES, OPEN_FILES).is_err() {
        rlimit::increase_nofile_limit(u64::MAX).context("raising the open-files limit")?;
    }
    let settings = cli.settings;
    settings.check()?;
    let options = ServerOptions {
        bin: server::binary(settings.server_bin.clone())?,
        synchronous: settings.synchronous,
        database_url: None,
        secret_key: None,
        default_limits: false,
    };
    let context = report::Context::capture(&options);
    println!("{}", context.describe());

    for run in cli.scenario.runs() {
        let section = match run {
            Run::Latency => {
                let settings = latency::Settings {
                    conversations: settings.conversations,
                    interval: seconds(settings.interval, "interval")?,
                    warmup: seconds(settings.warmup, "warmup")?,
                    duration: seconds(settings.duration, "duration")?,
                    convs_per_helper: settings.convs_per_helper,
                    stored: settings.stored,
                };
                let outcome = latency::run(&options, &settings).await?;
                report::latency(&context, &settings, &outcome)
            }
            Run::Pingpong => {
                let settings = pingpong::Settings {
                    concurrency: settings.concurrency.clone(),
                    warmup: seconds(settings.pingpong_warmup, "pingpong-warmup")?,
                    duration: seconds(settings.pingpong_duration, "pingpong-duration")?,
                    convs_per_helper: settings.convs_per_helper,
                };
                let outcome = pingpong::run(&options, &settings).await?;
                report::pingpong(&context, &settings, &outcome)
            }
            Run::Idle => {
                let outcome = idle::run(&options, settings.sockets).await?;
                report::idle(&context, settings.sockets, &outcome)
            }
            Run::Storm => {
                let storm_settings = storm::Settings {
                    clients: settings.storm_clients,
                    spread: seconds(settings.storm_spread, "storm-spread")?,
                    claimed: settings.storm_claimed,
                };
                let outcome = storm::run(&options, &storm_settings).await?;
                report::storm(&context, &storm_settings, &outcome)
            }
            Run::Peers | Run::Nodes => {
                let nodes = matches!(run, Run::Nodes);
                let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf);
                let peer_settings = peers::Settings {
                    peers: if nodes {
                        vec![peers::Peer::HelplinePostgres, peers::Peer::HelplineTwoNodes]
                    } else {
                        settings.peers.clone()
                    },
                    pingpong: settings.peer_pingpong.clone(),
                    latency: settings.peer_latency.clone(),
                    interval: seconds(settings.interval, "interval")?,
                    warmup: seconds(settings.peer_warmup, "peer-warmup")?,
                    duration: seconds(settings.peer_duration, "peer-duration")?,
                    synapse_pingpong: settings.synapse_pingpong.clone(),
                    synapse_latency: settings.synapse_latency.clone(),
                    synapse_python: settings.synapse_python.clone().unwrap_or_else(|| {
                        workspace.unwrap_or_default().join("target/bench-venv/bin/python")
                    }),
                    postgres_admin_url: settings.postgres_admin_url.clone(),
                };
                let (rows, skipped) = peers::run(&options, &peer_settings).await;
                if nodes {
                    peers::nodes::section(&context, &peer_settings, &rows, &skipped)
                } else {
                    if !settings.no_report && !rows.is_empty() {
                        let path = settings.report.clone().unwrap_or_else(default_report);
                        let chart = peers::report::write_chart(&path, &rows)?;
                        println!("(chart written to {})", chart.display());
                    }
                    peers::report::section(&context, &peer_settings, &rows, &skipped)
                }
            }
            Run::Flood => {
                let flood_settings = flood::Settings {
                    networks: settings.flood_networks.clamp(1, 200),
                    duration: seconds(settings.flood_duration, "flood-duration")?,
                };
                let outcome = flood::run(&options, &flood_settings).await?;
                flood::section(&context, &flood_settings, &outcome)
            }
            Run::Console => {
                let settings = console::Settings {
                    conversations: settings.seed_conversations,
                    requests: settings.page_requests,
                    updates: settings.live_updates,
                };
                let outcome = console::run(&options, &settings).await?;
                report::console(&context, &settings, &outcome)
            }
        };
        println!("\n{}", section.text);
        if !settings.no_report {
            let path = settings.report.clone().unwrap_or_else(default_report);
            report::write_section(&path, &section)?;
            println!("(written to {})", path.display());
        }
    }
    Ok(())
}
