//! The highest sustained durable message rate: C conversations ping-pong as fast as the
//! server answers. Each requester sends a message; the helper's client answers it as
//! soon as it arrives; the requester sends the next one as soon as the answer arrives.
//! Every message is acknowledged only after its commit, so what is delivered is
//! durable. Delivered = messages received by the other side during the window.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::{self, Api, CommitCounters, Frame, Ws, next_frame, send_json};
use crate::cpu::{self, Usage};
use crate::marker;
use crate::server::{Server, ServerOptions};
use crate::stats::{Latencies, Summary, Window};

const PING: &str = "ping";
const PONG: &str = "pong";

pub struct Settings {
    pub concurrency: Vec<usize>,
    pub warmup: Duration,
    pub duration: Duration,
    pub convs_per_helper: usize,
}

pub struct Level {
    pub concurrency: usize,
    pub helper_sockets: usize,
    /// Messages received by the other side during the window.
    pub delivered: u64,
    pub per_second: f64,
    /// Both directions: sender's client sending → the other client receiving.
    pub delivery: Summary,
    pub requester_to_helper: Summary,
    pub helper_to_requester: Summary,
    /// Requester sends → requester receives the answer.
    pub round_trip: Summary,
    pub error_frames: u64,
    pub failed_sockets: usize,
    /// The server's message-appender transactions during the window.
    pub commits: CommitCounters,
    /// CPU during the window (they share the machine).
    pub cpu: Usage,
}

pub async fn run(options: &ServerOptions, settings: &Settings) -> anyhow::Result<Vec<Level>> {
    let mut levels = Vec::new();
    for &concurrency in &settings.concurrency {
        let server = Server::start(options).await?;
        let level = measure(&server, settings, concurrency).await;
        server.stop().await?;
        let level = level?;
        println!(
            "pingpong: {concurrency} conversations: {:.0} delivered messages/s; delivery {}; \
             server {:.0} commits/s; CPU {}",
            level.per_second,
            level.delivery,
            level.commits.commits / settings.duration.as_secs_f64(),
            level.cpu.describe()
        );
        levels.push(level);
    }
    Ok(levels)
}

async fn measure(server: &Server, s: &Settings, concurrency: usize) -> anyhow::Result<Level> {
    let setup = Instant::now();
    println!("pingpong: starting and claiming {concurrency} conversations…");
    let api = Api::new(server)?;
    let conversations = api.start_conversations(concurrency).await?;
    api.claim_all(&conversations).await?;
    let helpers = client::helper_sockets(server, &conversations, s.convs_per_helper).await?;
    let helper_sockets = helpers.len();
    let requesters = client::requester_sockets(server, &conversations).await?;
    println!(
        "pingpong: {concurrency} requester and {helper_sockets} helper sockets ready in {:.1} s; \
         {:?} warm-up, {:?} measured",
        setup.elapsed().as_secs_f64(),
        s.warmup,
        s.duration
    );

    let start = Instant::now() + Duration::from_millis(300);
    let window = Window::after(start, s.warmup, s.duration);
    let helper_tasks =
        helpers.into_iter().enumerate().map(|(i, ws)| tokio::spawn(helper(ws, i, window))).collect();
    let requester_tasks = requesters
        .into_iter()
        .enumerate()
        .map(|(i, ws)| tokio::spawn(requester(ws, i, start, window)))
        .collect();
    tokio::time::sleep_until(window.from.into()).await;
    let (commits_before, cpu_before) = (api.commit_counters().await?, cpu::Sample::take(server.pid())?);
    tokio::time::sleep_until(window.to.into()).await;
    let (commits_after, cpu_after) = (api.commit_counters().await?, cpu::Sample::take(server.pid())?);
    let requesters = client::join_all(requester_tasks).await;
    let helpers = client::join_all(helper_tasks).await;
    requesters.warn("requester sockets");
    helpers.warn("helper sockets");

    let mut to_helper = Latencies::new();
    let mut to_requester = Latencies::new();
    let mut round_trip = Latencies::new();
    let mut error_frames = 0;
    for r in &requesters.results {
        to_requester.merge(&r.received);
        round_trip.merge(&r.round_trip);
        error_frames += r.error_frames;
    }
    for h in &helpers.results {
        to_helper.merge(&h.received);
        error_frames += h.error_frames;
    }
    let requester_to_helper = to_helper.summary();
    let helper_to_requester = to_requester.summary();
    let mut delivery = to_helper;
    delivery.merge(&to_requester);
    let delivery = delivery.summary();
    Ok(Level {
        concurrency,
        helper_sockets,
        delivered: delivery.count,
        per_second: delivery.count as f64 / window.seconds(),
        delivery,
        requester_to_helper,
        helper_to_requester,
        round_trip: round_trip.summary(),
        error_frames,
        failed_sockets: requesters.failures.len() + helpers.failures.len(),
        commits: commits_after.since(commits_before),
        cpu: cpu_after.since(&cpu_before, window.seconds()),
    })
}

#[derive(Default)]
struct RequesterStats {
    /// Delivery latencies of the answers received in the window.
    received: Latencies,
    round_trip: Latencies,
    error_frames: u64,
}

/// Sends a message at `start`, then another as soon as each answer arrives, until the
/// window ends.
async fn requester(
    mut ws: Ws,
    conversation: usize,
    start: Instant,
    window: Window,
) -> anyhow::Result<RequesterStats> {
    let mut stats = RequesterStats::default();
    tokio::time::sleep_until(start.into()).await;
    let mut n = 0;
    let mut last_sent = send_ping(&mut ws, conversation, &mut n).await?;
    let stop = tokio::time::sleep_until(window.to.into());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            frame = next_frame(&mut ws) => match frame? {
                Some(Frame::Message { author_role, text, .. }) if author_role == "helper" && marker::has_prefix(&text, PONG) => {
                    let received = Instant::now();
                    if window.contains(received) {
                        if let Some(sent) = marker::sent_at(&text) {
                            stats.received.record(received.saturating_duration_since(sent));
                        }
                        stats.round_trip.record(received - last_sent);
                    }
                    last_sent = send_ping(&mut ws, conversation, &mut n).await?;
                }
                Some(Frame::Error { .. }) => {
                    // The message was refused and no answer will come: go on with the next.
                    stats.error_frames += 1;
                    last_sent = send_ping(&mut ws, conversation, &mut n).await?;
                }
                Some(_) => {}
                None => anyhow::bail!("the server closed a requester socket"),
            },
            () = &mut stop => return Ok(stats),
        }
    }
}

async fn send_ping(ws: &mut Ws, conversation: usize, n: &mut u64) -> anyhow::Result<Instant> {
    let (text, at) = marker::stamp(PING, conversation, *n);
    send_json(ws, &json!({ "type": "message", "client_id": format!("m{n}"), "text": text })).await?;
    *n += 1;
    Ok(at)
}

#[derive(Default)]
struct HelperStats {
    /// Delivery latencies of the requesters' messages received in the window.
    received: Latencies,
    error_frames: u64,
}

/// Answers every requester message at once, until the window ends.
async fn helper(mut ws: Ws, socket: usize, window: Window) -> anyhow::Result<HelperStats> {
    let mut stats = HelperStats::default();
    let mut answered = 0;
    let stop = tokio::time::sleep_until(window.to.into());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            frame = next_frame(&mut ws) => match frame? {
                Some(Frame::Message { conversation: Some(id), author_role, text }) if author_role == "requester" && marker::has_prefix(&text, PING) => {
                    let received = Instant::now();
                    if window.contains(received)
                        && let Some(sent) = marker::sent_at(&text)
                    {
                        stats.received.record(received.saturating_duration_since(sent));
                    }
                    // Client ids need only be unique per conversation; this socket's
                    // counter is.
                    let (answer, _) = marker::stamp(PONG, socket, answered);
                    let frame = json!({ "type": "message", "conversation": id, "client_id": format!("a{answered}"), "text": answer });
                    send_json(&mut ws, &frame).await?;
                    answered += 1;
                }
                Some(Frame::Error { .. }) => stats.error_frames += 1,
                Some(_) => {}
                None => anyhow::bail!("the server closed a helper socket"),
            },
            () = &mut stop => return Ok(stats),
        }
    }
}
