//! `helpline-bench peers`: the same workloads, the same client, one run, against
//! Helpline (SQLite, v1 and lean wire; PostgreSQL), InspIRCd (memory only) and Matrix
//! Synapse (SQLite). Each workload gets a fresh server; the servers never run at once.

pub mod helpline;
pub mod irc;
pub mod link;
pub mod matrix;
pub mod nodes;
pub mod report;
pub mod traffic;
pub mod workload;

use std::path::PathBuf;
use std::time::Duration;

use crate::client::Wire;
use crate::server::{Server, ServerOptions};
use link::Pair;
use workload::{Measured, Workload};

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Peer {
    /// Helpline on SQLite (synchronous = full), clients on the v1 wire.
    HelplineV1,
    /// Helpline on SQLite (synchronous = full), clients on the lean wire.
    Helpline,
    /// Helpline on PostgreSQL, clients on the lean wire.
    HelplinePostgres,
    /// Two Helpline nodes on one PostgreSQL: requesters on one, helpers on the other,
    /// so that every message crosses from node to node; lean wire.
    HelplineTwoNodes,
    Inspircd,
    Synapse,
}

impl Peer {
    pub fn label(self) -> &'static str {
        match self {
            Self::HelplineV1 => "Helpline, SQLite, v1 wire",
            Self::Helpline => "Helpline, SQLite, lean wire",
            Self::HelplinePostgres => "Helpline, PostgreSQL, lean wire",
            Self::HelplineTwoNodes => "Helpline, PostgreSQL, two nodes, lean wire",
            Self::Inspircd => "InspIRCd 3 (memory only)",
            Self::Synapse => "Synapse (SQLite)",
        }
    }
}

pub struct Settings {
    pub peers: Vec<Peer>,
    pub pingpong: Vec<usize>,
    pub latency: Vec<usize>,
    pub interval: Duration,
    pub warmup: Duration,
    pub duration: Duration,
    /// Synapse is three orders of magnitude slower: its own, smaller sizes.
    pub synapse_pingpong: Vec<usize>,
    pub synapse_latency: Vec<usize>,
    pub synapse_python: PathBuf,
    /// A database PostgreSQL accepts `CREATE DATABASE` on (the bench makes its own).
    pub postgres_admin_url: String,
}

pub struct Row {
    pub peer: Peer,
    pub workload: Workload,
    pub measured: Measured,
}

/// What could not be measured, and why (a peer not installed, a run that failed).
pub struct Skipped {
    pub peer: Peer,
    pub workload: Option<Workload>,
    pub reason: String,
}

pub async fn run(options: &ServerOptions, s: &Settings) -> (Vec<Row>, Vec<Skipped>) {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for &peer in &s.peers {
        for workload in workloads(peer, s) {
            println!("peers: {} — {} …", peer.label(), workload.describe());
            match measure(options, s, peer, workload).await {
                Ok(measured) => {
                    let (server_us, client_us) = measured.cpu_micros();
                    println!(
                        "peers: {:.0} delivered/s; delivery {}; CPU per message: server {server_us:.0} µs, client {client_us:.0} µs",
                        measured.per_second, measured.delivery
                    );
                    rows.push(Row { peer, workload, measured });
                }
                Err(e) => {
                    let reason = format!("{e:#}");
                    eprintln!("peers: {} — {}: {reason}", peer.label(), workload.describe());
                    let missing = reason.contains("is missing") || reason.contains("No such file");
                    skipped.push(Skipped { peer, workload: (!missing).then_some(workload), reason });
                    if missing {
                        break;
                    }
                }
            }
        }
    }
    (rows, skipped)
}

fn workloads(peer: Peer, s: &Settings) -> Vec<Workload> {
    let (pingpong, latency) = match peer {
        Peer::Synapse => (&s.synapse_pingpong, &s.synapse_latency),
        _ => (&s.pingpong, &s.latency),
    };
    let latency = latency.iter().map(|&pairs| Workload::Latency { pairs, interval: s.interval });
    latency.chain(pingpong.iter().map(|&pairs| Workload::Pingpong { pairs })).collect()
}

async fn measure(options: &ServerOptions, s: &Settings, peer: Peer, w: Workload) -> anyhow::Result<Measured> {
    let run = |pairs: Vec<Pair>, pid: u32| async move {
        workload::run(pairs, w, s.warmup, s.duration, &[pid]).await
    };
    match peer {
        Peer::HelplineTwoNodes => {
            let mut options = options.clone();
            options.database_url =
                Some(helpline::fresh_postgres(&s.postgres_admin_url, "helpline_bench").await?);
            // Both nodes need the same secret (any, for a bench).
            options.secret_key = Some("5e".repeat(32));
            let a = Server::start(&options).await?;
            let b = Server::start(&options).await?;
            let measured = match helpline::pairs_across(&a, &b, w.pairs(), Wire::Lean).await {
                Ok(pairs) => workload::run(pairs, w, s.warmup, s.duration, &[a.pid(), b.pid()]).await,
                Err(e) => Err(e),
            };
            a.stop().await?;
            b.stop().await?;
            measured
        }
        Peer::HelplineV1 | Peer::Helpline | Peer::HelplinePostgres => {
            let mut options = options.clone();
            if peer == Peer::HelplinePostgres {
                options.database_url =
                    Some(helpline::fresh_postgres(&s.postgres_admin_url, "helpline_bench").await?);
            }
            let wire = if peer == Peer::HelplineV1 { Wire::V1 } else { Wire::Lean };
            let server = Server::start(&options).await?;
            let measured = match helpline::pairs(&server, w.pairs(), wire).await {
                Ok(pairs) => run(pairs, server.pid()).await,
                Err(e) => Err(e),
            };
            server.stop().await?;
            measured
        }
        Peer::Inspircd => {
            let server = irc::Inspircd::start().await?;
            let measured = match server.pairs(w.pairs()).await {
                Ok(pairs) => run(pairs, server.pid()).await,
                Err(e) => Err(e),
            };
            server.stop().await?;
            measured
        }
        Peer::Synapse => {
            if !s.synapse_python.is_file() {
                anyhow::bail!(
                    "{} is missing: make the virtualenv with scripts/bench-peers (pip install matrix-synapse)",
                    s.synapse_python.display()
                );
            }
            let server = matrix::Synapse::start(&s.synapse_python).await?;
            let measured = match server.pairs(w.pairs()).await {
                Ok(pairs) => run(pairs.into_iter().map(Pair::matrix).collect(), server.pid()).await,
                Err(e) => Err(e),
            };
            server.stop().await?;
            measured
        }
    }
}
