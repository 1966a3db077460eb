//! Delivery latency at a steady load: N conversations, each with a requester socket
//! that sends one message every T seconds (phases spread evenly over T) and a helper
//! socket following it. Latency runs from the requester's client sending the frame to
//! the helper's client receiving the `message` frame for it.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::time::MissedTickBehavior;

use crate::client::{self, Api, Frame, Ws, next_frame, send_json};
use crate::cpu::{self, Usage};
use crate::marker;
use crate::server::{Server, ServerOptions};
use crate::stats::{Latencies, Summary, Window};

/// Time after the measured window for the last messages to arrive.
const DRAIN: Duration = Duration::from_secs(3);
const PREFIX: &str = "ping";

pub struct Settings {
    pub conversations: usize,
    pub interval: Duration,
    pub warmup: Duration,
    pub duration: Duration,
    pub convs_per_helper: usize,
    /// Conversations seeded into the database first (`helpline seed`); 0 for none.
    pub stored: u64,
}

pub struct Outcome {
    pub helper_sockets: usize,
    /// Requester's send → helper's receipt.
    pub delivery: Summary,
    /// Requester's send → its `ack` (the commit).
    pub ack: Summary,
    /// Messages sent in the window…
    pub sent: u64,
    /// …and how many of them reached the helper.
    pub delivered: u64,
    pub error_frames: u64,
    pub failed_sockets: usize,
    pub window_seconds: f64,
    /// Server RSS at the end, with every socket still open.
    pub server_rss_kib: u64,
    /// CPU during the window.
    pub cpu: Usage,
    pub seeded: Option<crate::server::Seeded>,
}

pub async fn run(options: &ServerOptions, settings: &Settings) -> anyhow::Result<Outcome> {
    let (server, seeded) = match settings.stored {
        0 => (Server::start(options).await?, None),
        n => {
            println!("latency: seeding {n} conversations first…");
            let (server, seeded) = Server::start_seeded(options, n).await?;
            (server, Some(seeded))
        }
    };
    let outcome = measure(&server, settings).await;
    server.stop().await?;
    outcome.map(|o| Outcome { seeded, ..o })
}

async fn measure(server: &Server, s: &Settings) -> anyhow::Result<Outcome> {
    let setup = Instant::now();
    println!("latency: starting {} conversations…", s.conversations);
    let conversations = Api::new(server)?.start_conversations(s.conversations).await?;
    let helpers = client::helper_sockets(server, &conversations, s.convs_per_helper).await?;
    let helper_sockets = helpers.len();
    let requesters = client::requester_sockets(server, &conversations).await?;
    println!(
        "latency: {} requester and {helper_sockets} helper sockets ready in {:.1} s; \
         one message per requester every {:?}, {:?} warm-up, {:?} measured",
        requesters.len(),
        setup.elapsed().as_secs_f64(),
        s.interval,
        s.warmup,
        s.duration
    );

    let start = Instant::now() + Duration::from_millis(500);
    let window = Window::after(start, s.warmup, s.duration);
    let stop = window.to + DRAIN;
    let helper_tasks = helpers.into_iter().map(|ws| tokio::spawn(helper(ws, window, stop))).collect();
    let spacing = s.interval.div_f64(requesters.len().max(1) as f64);
    let requester_tasks = requesters
        .into_iter()
        .enumerate()
        .map(|(i, ws)| {
            let first = start + spacing.mul_f64(i as f64);
            tokio::spawn(requester(ws, i, first, s.interval, window, stop))
        })
        .collect();
    tokio::time::sleep_until(window.from.into()).await;
    let cpu_before = cpu::Sample::take(server.pid())?;
    tokio::time::sleep_until(window.to.into()).await;
    let cpu = cpu::Sample::take(server.pid())?.since(&cpu_before, window.seconds());
    let requesters = client::join_all(requester_tasks).await;
    let helpers = client::join_all(helper_tasks).await;
    requesters.warn("requester sockets");
    helpers.warn("helper sockets");

    let mut delivery = Latencies::new();
    let mut ack = Latencies::new();
    let (mut sent, mut delivered, mut error_frames) = (0, 0, 0);
    for r in &requesters.results {
        ack.merge(&r.ack);
        sent += r.sent;
        error_frames += r.error_frames;
    }
    for h in &helpers.results {
        delivery.merge(&h.delivery);
        delivered += h.delivered;
        error_frames += h.error_frames;
    }
    Ok(Outcome {
        helper_sockets,
        delivery: delivery.summary(),
        ack: ack.summary(),
        sent,
        delivered,
        error_frames,
        failed_sockets: requesters.failures.len() + helpers.failures.len(),
        window_seconds: window.seconds(),
        server_rss_kib: server.rss_kib()?,
        cpu,
        seeded: None,
    })
}

#[derive(Default)]
struct RequesterStats {
    sent: u64,
    ack: Latencies,
    error_frames: u64,
}

/// Sends a message at `first`, then every `interval` until the window ends; reads acks
/// until `stop`.
async fn requester(
    mut ws: Ws,
    conversation: usize,
    first: Instant,
    interval: Duration,
    window: Window,
    stop: Instant,
) -> anyhow::Result<RequesterStats> {
    let mut stats = RequesterStats::default();
    let mut ticks = tokio::time::interval_at(first.into(), interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The server handles one socket's frames in order: acks come back in order.
    let mut unacked = std::collections::VecDeque::new();
    let mut n = 0;
    let stop = tokio::time::sleep_until(stop.into());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = ticks.tick(), if Instant::now() < window.to => {
                let (text, at) = marker::stamp(PREFIX, conversation, n);
                send_json(&mut ws, &json!({ "type": "message", "client_id": format!("m{n}"), "text": text })).await?;
                n += 1;
                unacked.push_back(at);
                if window.contains(at) {
                    stats.sent += 1;
                }
            }
            frame = next_frame(&mut ws) => match frame? {
                Some(Frame::Ack {}) => {
                    if let Some(at) = unacked.pop_front().filter(|at| window.contains(*at)) {
                        stats.ack.record(at.elapsed());
                    }
                }
                Some(Frame::Error { .. }) => {
                    unacked.pop_front();
                    stats.error_frames += 1;
                }
                Some(_) => {}
                None => anyhow::bail!("the server closed a requester socket"),
            },
            () = &mut stop => return Ok(stats),
        }
    }
}

#[derive(Default)]
struct HelperStats {
    delivery: Latencies,
    delivered: u64,
    error_frames: u64,
}

/// Reads the requesters' messages until `stop`, timing those sent in the window.
async fn helper(mut ws: Ws, window: Window, stop: Instant) -> anyhow::Result<HelperStats> {
    let mut stats = HelperStats::default();
    let stop = tokio::time::sleep_until(stop.into());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            frame = next_frame(&mut ws) => match frame? {
                Some(Frame::Message { author_role, text, .. }) if author_role == "requester" => {
                    let received = Instant::now();
                    if marker::has_prefix(&text, PREFIX)
                        && let Some(sent) = marker::sent_at(&text).filter(|at| window.contains(*at))
                    {
                        stats.delivery.record(received.saturating_duration_since(sent));
                        stats.delivered += 1;
                    }
                }
                Some(Frame::Error { .. }) => stats.error_frames += 1,
                Some(_) => {}
                None => anyhow::bail!("the server closed a helper socket"),
            },
            () = &mut stop => return Ok(stats),
        }
    }
}
