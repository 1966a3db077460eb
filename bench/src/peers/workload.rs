//! The two workloads, the same for every server: closed-loop ping-pong (each pair
//! answers as fast as the server passes messages on) and open-loop latency (each
//! requester sends one message every interval, phases spread evenly).

use std::time::{Duration, Instant};

use crate::client::{Joined, join_all};
use crate::cpu::{self, Usage};
use crate::marker;
use crate::peers::link::{Link, Pair};
use crate::peers::traffic::Traffic;
use crate::stats::{Latencies, Summary, Window};

const PING: &str = "ping";
const PONG: &str = "pong";
/// After an open-loop window, how long the last messages may take to arrive.
const DRAIN: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug)]
pub enum Workload {
    /// Closed loop: pairs ping-ponging.
    Pingpong { pairs: usize },
    /// Open loop: each requester sends every `interval`.
    Latency { pairs: usize, interval: Duration },
}

impl Workload {
    pub fn pairs(self) -> usize {
        match self {
            Self::Pingpong { pairs } | Self::Latency { pairs, .. } => pairs,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Self::Pingpong { pairs } => format!("ping-pong, {pairs} pairs"),
            Self::Latency { pairs, interval } => {
                format!("{pairs} pairs × 1 msg / {} s", interval.as_secs_f64())
            }
        }
    }
}

/// What one workload measured on one server.
pub struct Measured {
    /// Messages received by the other side in the window (ping-pong: both ways;
    /// latency: those sent in the window).
    pub delivered: u64,
    pub per_second: f64,
    pub delivery: Summary,
    /// Both ways, every client, in the window.
    pub traffic: Traffic,
    pub cpu: Usage,
    /// Each server process's share of one core (several with several nodes).
    pub nodes_cpu: Vec<f64>,
    pub seconds: f64,
    pub failures: usize,
}

impl Measured {
    /// CPU time per delivered message, in µs: (server, client).
    pub fn cpu_micros(&self) -> (f64, f64) {
        let per = |share: f64| share * self.seconds * 1e6 / (self.delivered.max(1) as f64);
        (per(self.cpu.server), per(self.cpu.bench))
    }

    /// Each server process's CPU time per delivered message, in µs.
    pub fn nodes_cpu_micros(&self) -> Vec<f64> {
        self.nodes_cpu
            .iter()
            .map(|share| share * self.seconds * 1e6 / (self.delivered.max(1) as f64))
            .collect()
    }
}

struct Outcome {
    received: Latencies,
    traffic: Traffic,
}

pub async fn run(
    pairs: Vec<Pair>,
    workload: Workload,
    warmup: Duration,
    duration: Duration,
    server_pids: &[u32],
) -> anyhow::Result<Measured> {
    let start = Instant::now() + Duration::from_millis(300);
    let window = Window::after(start, warmup, duration);
    let count = pairs.len().max(1);
    let mut tasks = Vec::with_capacity(pairs.len() * 2);
    for (i, pair) in pairs.into_iter().enumerate() {
        match workload {
            Workload::Pingpong { .. } => {
                tasks.push(tokio::spawn(pinging(pair.requester, i, start, window)));
                tasks.push(tokio::spawn(answering(pair.helper, i, window)));
            }
            Workload::Latency { interval, .. } => {
                let phase = interval.mul_f64(i as f64 / count as f64);
                tasks.push(tokio::spawn(sending(pair.requester, i, start + phase, interval, window)));
                tasks.push(tokio::spawn(receiving(pair.helper, window)));
            }
        }
    }
    tokio::time::sleep_until(window.from.into()).await;
    let before = cpu::Sample::take_all(server_pids)?;
    tokio::time::sleep_until(window.to.into()).await;
    let after = cpu::Sample::take_all(server_pids)?;
    let joined: Joined<Outcome> = join_all(tasks).await;
    joined.warn("client connections");
    let mut received = Latencies::new();
    let mut traffic = Traffic::default();
    for outcome in &joined.results {
        received.merge(&outcome.received);
        traffic.add(outcome.traffic);
    }
    let delivery = received.summary();
    Ok(Measured {
        delivered: delivery.count,
        per_second: delivery.count as f64 / window.seconds(),
        delivery,
        traffic,
        cpu: after.since(&before, window.seconds()),
        nodes_cpu: after.each_since(&before, window.seconds()),
        seconds: window.seconds(),
        failures: joined.failures.len(),
    })
}

fn record(received: &mut Latencies, text: &str, window: Window, sent_in_window: bool) {
    let now = Instant::now();
    let Some(sent) = marker::sent_at(text) else { return };
    let counts = if sent_in_window { window.contains(sent) } else { window.contains(now) };
    if counts {
        received.record(now.saturating_duration_since(sent));
    }
}

/// Ping-pong, requester side: a ping at `start`, the next on each pong.
async fn pinging(mut link: Link, pair: usize, start: Instant, window: Window) -> anyhow::Result<Outcome> {
    let mut out = Outcome { received: Latencies::new(), traffic: Traffic::default() };
    tokio::time::sleep_until(start.into()).await;
    let mut n = 0;
    link.send(&marker::stamp(PING, pair, n).0, window, &mut out.traffic).await?;
    let stop = tokio::time::sleep_until(window.to.into());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            text = link.receive(window, &mut out.traffic) => {
                let Some(text) = text? else { anyhow::bail!("the server closed a requester connection") };
                if marker::has_prefix(&text, PONG) {
                    record(&mut out.received, &text, window, false);
                    n += 1;
                    link.send(&marker::stamp(PING, pair, n).0, window, &mut out.traffic).await?;
                }
            }
            () = &mut stop => return Ok(out),
        }
    }
}

/// Ping-pong, helper side: every ping answered at once.
async fn answering(mut link: Link, pair: usize, window: Window) -> anyhow::Result<Outcome> {
    let mut out = Outcome { received: Latencies::new(), traffic: Traffic::default() };
    let mut n = 0;
    let stop = tokio::time::sleep_until(window.to.into());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            text = link.receive(window, &mut out.traffic) => {
                let Some(text) = text? else { anyhow::bail!("the server closed a helper connection") };
                if marker::has_prefix(&text, PING) {
                    record(&mut out.received, &text, window, false);
                    link.send(&marker::stamp(PONG, pair, n).0, window, &mut out.traffic).await?;
                    n += 1;
                }
            }
            () = &mut stop => return Ok(out),
        }
    }
}

/// Open loop, requester side: one message every `interval` from `first` on.
async fn sending(
    mut link: Link,
    pair: usize,
    first: Instant,
    interval: Duration,
    window: Window,
) -> anyhow::Result<Outcome> {
    let mut out = Outcome { received: Latencies::new(), traffic: Traffic::default() };
    let mut ticks = tokio::time::interval_at(first.into(), interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0;
    let stop = tokio::time::sleep_until((window.to + DRAIN).into());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if Instant::now() < window.to {
                    link.send(&marker::stamp(PING, pair, n).0, window, &mut out.traffic).await?;
                    n += 1;
                }
            }
            // Acks and whatever else comes: read, so that nothing backs up.
            text = link.receive(window, &mut out.traffic) => {
                if text?.is_none() { anyhow::bail!("the server closed a requester connection") }
            }
            () = &mut stop => return Ok(out),
        }
    }
}

/// Open loop, helper side: records each message sent in the window.
async fn receiving(mut link: Link, window: Window) -> anyhow::Result<Outcome> {
    let mut out = Outcome { received: Latencies::new(), traffic: Traffic::default() };
    let stop = tokio::time::sleep_until((window.to + DRAIN).into());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            text = link.receive(window, &mut out.traffic) => {
                let Some(text) = text? else { anyhow::bail!("the server closed a helper connection") };
                if marker::has_prefix(&text, PING) {
                    record(&mut out.received, &text, window, true);
                }
            }
            () = &mut stop => return Ok(out),
        }
    }
}
