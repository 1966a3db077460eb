//! Memory per idle socket: the server's RSS before and after opening N requester
//! sockets (each past its `hello`, then silent), on N conversations started beforehand.
//! RSS is also read halfway, so that the cost of the second half (the marginal cost,
//! free of one-time growth) can be told apart from the average.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::client::{self, Api, Conversation, Ws, next_frame};
use crate::server::{Server, ServerOptions};

/// Pause before each RSS reading, for the server to finish its work.
const SETTLE: Duration = Duration::from_secs(3);

pub struct Outcome {
    pub sockets: usize,
    pub rss_before_kib: u64,
    pub rss_half_kib: u64,
    pub rss_after_kib: u64,
    /// Sockets still open when RSS was read after opening them all.
    pub open_at_end: usize,
}

impl Outcome {
    /// (after − before) / N, in KiB.
    pub fn per_socket_kib(&self) -> f64 {
        self.rss_after_kib.saturating_sub(self.rss_before_kib) as f64 / self.sockets.max(1) as f64
    }

    /// (after − half) / (N − N/2), in KiB.
    pub fn marginal_kib(&self) -> f64 {
        let second_half = self.sockets - self.sockets / 2;
        self.rss_after_kib.saturating_sub(self.rss_half_kib) as f64 / second_half.max(1) as f64
    }
}

pub async fn run(options: &ServerOptions, sockets: usize) -> anyhow::Result<Outcome> {
    let server = Server::start(options).await?;
    let outcome = measure(&server, sockets).await;
    server.stop().await?;
    outcome
}

async fn measure(server: &Server, sockets: usize) -> anyhow::Result<Outcome> {
    let setup = Instant::now();
    println!("idle: starting {sockets} conversations…");
    let conversations = Api::new(server)?.start_conversations(sockets).await?;
    // The HTTP client is dropped with its connections: the baseline has none.
    println!("idle: {sockets} conversations in {:.1} s", setup.elapsed().as_secs_f64());
    tokio::time::sleep(SETTLE).await;
    let rss_before_kib = server.rss_kib()?;

    let (stop, stopped) = watch::channel(false);
    let open = Arc::new(AtomicUsize::new(0));
    let (first, second) = conversations.split_at(sockets / 2);
    let mut holders = Vec::with_capacity(sockets);
    let opening = Instant::now();
    holders.extend(hold(server, first, &stopped, &open).await?);
    tokio::time::sleep(SETTLE).await;
    let rss_half_kib = server.rss_kib()?;
    holders.extend(hold(server, second, &stopped, &open).await?);
    println!("idle: {sockets} sockets open in {:.1} s", opening.elapsed().as_secs_f64());
    tokio::time::sleep(SETTLE).await;
    let rss_after_kib = server.rss_kib()?;
    let open_at_end = open.load(Ordering::Relaxed);

    let _ = stop.send(true);
    for holder in holders {
        let _ = holder.await;
    }
    Ok(Outcome { sockets, rss_before_kib, rss_half_kib, rss_after_kib, open_at_end })
}

/// Opens a socket per conversation and keeps each open (answering the server's pings)
/// until `stopped` turns true.
async fn hold(
    server: &Server,
    conversations: &[Conversation],
    stopped: &watch::Receiver<bool>,
    open: &Arc<AtomicUsize>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let sockets = client::requester_sockets(server, conversations).await?;
    Ok(sockets
        .into_iter()
        .map(|ws| {
            open.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(idle(ws, stopped.clone(), Arc::clone(open)))
        })
        .collect())
}

async fn idle(mut ws: Ws, mut stopped: watch::Receiver<bool>, open: Arc<AtomicUsize>) {
    loop {
        tokio::select! {
            frame = next_frame(&mut ws) => {
                if !matches!(frame, Ok(Some(_))) {
                    break;
                }
            }
            _ = stopped.wait_for(|stop| *stop) => break,
        }
    }
    open.fetch_sub(1, Ordering::Relaxed);
}
