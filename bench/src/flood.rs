//! A flood from one network: the latency of other networks' requests, quiet and while
//! one network (127.0.0.2) sends requests as fast as the server answers, the server
//! keeping its default rate limits. Loopback only, bounded in time.
//!
//! Normal load: `networks` networks (127.0.1.x), each asking for help once and then
//! reading its conversation once a second (as a widget without its socket would). The
//! flood: 50 requests in flight at all times from one network, new requests and widget
//! settings in turn; its rate is reported next to the normal load's. Three rows: quiet,
//! the flood held to ten times the normal load's rate, and the flood unbounded.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::report::{Context, Section, grouped};
use crate::server::{Server, ServerOptions};
use crate::stats::{Latencies, Summary, ms};

pub struct Settings {
    pub networks: u8,
    pub duration: Duration,
}

pub struct Phase {
    pub others: Summary,
    pub others_failed: u64,
    pub flood_per_second: f64,
    pub flood_refused: u64,
    pub flood_served: u64,
}

pub struct Outcome {
    pub phases: Vec<(&'static str, Phase)>,
}

/// How the flooding network sends: not at all, at a rate (requests/s), or as fast as
/// the server answers.
#[derive(Clone, Copy)]
enum Flood {
    None,
    Rate(f64),
    Unbounded,
}

pub async fn run(options: &ServerOptions, s: &Settings) -> anyhow::Result<Outcome> {
    let mut options = options.clone();
    options.default_limits = true;
    let normal = f64::from(s.networks);
    let mut phases = Vec::new();
    for (label, flood) in [
        ("quiet", Flood::None),
        ("flood at 10× the normal load", Flood::Rate(10.0 * normal)),
        ("flood as fast as answered", Flood::Unbounded),
    ] {
        let server = Server::start(&options).await?;
        let measured = phase(&server, s, flood).await;
        server.stop().await?;
        phases.push((label, measured?));
    }
    Ok(Outcome { phases })
}

fn client_from(ip: [u8; 4]) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().local_address(IpAddr::from(ip)).build()?)
}

async fn phase(server: &Server, s: &Settings, flood: Flood) -> anyhow::Result<Phase> {
    let url = server.http_url();
    let stop = Arc::new(AtomicBool::new(false));
    let (served, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut flooders = Vec::new();
    if !matches!(flood, Flood::None) {
        let client = client_from([127, 0, 0, 2])?;
        // At a rate: each of the 50 senders waits its turn, 50 / rate seconds apart.
        let pause = match flood {
            Flood::Rate(rate) => Some(Duration::from_secs_f64(50.0 / rate.max(0.001))),
            _ => None,
        };
        for i in 0..50 {
            let (client, url, stop) = (client.clone(), url.clone(), Arc::clone(&stop));
            let (served, refused) = (Arc::clone(&served), Arc::clone(&refused));
            flooders.push(tokio::spawn(async move {
                let body = json!({ "site": "demo", "text": "flood" });
                let mut n = i;
                let mut tick = pause.map(|p| {
                    let first = tokio::time::Instant::now() + p.mul_f64(f64::from(i) / 50.0);
                    tokio::time::interval_at(first, p)
                });
                while !stop.load(Ordering::Relaxed) {
                    if let Some(tick) = tick.as_mut() {
                        tick.tick().await;
                    }
                    n += 1;
                    let request = if n % 2 == 0 {
                        client.post(format!("{url}/v1/conversations")).json(&body)
                    } else {
                        client.get(format!("{url}/v1/sites/demo/widget"))
                    };
                    match request.send().await.map(|r| r.status().as_u16()) {
                        Ok(429) => refused.fetch_add(1, Ordering::Relaxed),
                        Ok(_) => served.fetch_add(1, Ordering::Relaxed),
                        Err(_) => 0,
                    };
                }
            }));
        }
    }
    let began = Instant::now();
    let mut others = Vec::new();
    for n in 0..s.networks {
        let client = client_from([127, 0, 1, 10 + n])?;
        let (url, duration) = (url.clone(), s.duration);
        others.push(tokio::spawn(async move { network(client, url, n, duration).await }));
    }
    let mut latencies = Latencies::new();
    let mut others_failed = 0;
    for other in others {
        let (l, failed) = other.await.context("a network's task")??;
        latencies.merge(&l);
        others_failed += failed;
    }
    let elapsed = began.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        let _ = f.await;
    }
    let (served, refused) = (served.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    Ok(Phase {
        others: latencies.summary(),
        others_failed,
        flood_per_second: (served + refused) as f64 / elapsed,
        flood_refused: refused,
        flood_served: served,
    })
}

/// One network of the normal load: asks for help, then reads once a second.
async fn network(
    client: reqwest::Client,
    url: String,
    n: u8,
    duration: Duration,
) -> anyhow::Result<(Latencies, u64)> {
    let mut latencies = Latencies::new();
    let mut failed = 0;
    let start = Instant::now();
    let body = json!({ "site": "demo", "text": format!("help from network {n}") });
    let created = client.post(format!("{url}/v1/conversations")).json(&body).send().await?;
    latencies.record(start.elapsed());
    anyhow::ensure!(created.status() == 201, "network {n}: creating answered {}", created.status());
    let created: Value = created.json().await?;
    let id = created["id"].as_str().context("id")?.to_string();
    let token = created["token"].as_str().context("token")?.to_string();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    while start.elapsed() < duration {
        tick.tick().await;
        let asked = Instant::now();
        let read =
            client.get(format!("{url}/v1/conversations/{id}?after=0")).bearer_auth(&token).send().await;
        match read {
            Ok(r) if r.status() == 200 => latencies.record(asked.elapsed()),
            _ => failed += 1,
        }
    }
    Ok((latencies, failed))
}

pub fn section(context: &Context, s: &Settings, o: &Outcome) -> Section {
    let mut t = String::from("## Abuse: a flood from one network\n\n");
    context.preamble(&mut t);
    let _ = writeln!(
        t,
        "- Load: {} networks (127.0.1.x), each asking for help once, then reading its \
         conversation once a second ({} requests/s in all), for {:?}; the server keeps its \
         default rate limits (120 requests a minute and 10 new requests an hour per network; \
         the limits raised for the other sections are not raised here)\n\
         - Flood: one network (127.0.0.2), 50 senders (new requests and widget settings in turn), \
         held to ten times the normal load's rate, or each sending again as soon as answered; \
         a fresh server per row\n",
        s.networks, s.networks, s.duration
    );
    t.push_str(
        "| | other networks: p50 | p99 | max | failed | flood requests/s (× normal load) | flood served | flood refused (429) |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let normal = f64::from(s.networks);
    for (label, p) in &o.phases {
        let times = if p.flood_per_second > 0.0 {
            format!("{} ({:.0}×)", grouped(p.flood_per_second), p.flood_per_second / normal)
        } else {
            "—".to_string()
        };
        let _ = writeln!(
            t,
            "| {label} | {} | {} | {} | {} | {times} | {} | {} |",
            ms(p.others.p50),
            ms(p.others.p99),
            ms(p.others.max),
            p.others_failed,
            grouped(p.flood_served as f64),
            grouped(p.flood_refused as f64)
        );
    }
    Section::new("abuse-flood", t)
}
