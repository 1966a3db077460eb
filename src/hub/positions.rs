//! Queue positions, worked out once per queue and change instead of once per asking
//! socket: the waiting line of a queue in order, kept until the queue's next event (or
//! for `MAX_AGE`, for changes made elsewhere: another node, a purge). Without it, every
//! waiting requester's (re)connect counts the conversations ahead of it — 10,000 people
//! reconnecting to one long queue would count 50 million rows.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::domain::{ConversationId, QueueId};

/// The longest a waiting line is used without an event of its queue.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// One queue's waiting line: each conversation's position (1 = next).
pub struct WaitingLine {
    taken: Instant,
    /// The queue's generation when the line was read (taken before reading it).
    generation: u64,
    positions: HashMap<ConversationId, i64>,
}

impl WaitingLine {
    /// From the waiting conversations in order (urgent first, then oldest first).
    fn new(generation: u64, in_order: Vec<ConversationId>) -> Self {
        let positions = in_order.into_iter().zip(1..).collect();
        Self { taken: Instant::now(), generation, positions }
    }

    pub fn position(&self, id: &ConversationId) -> Option<i64> {
        self.positions.get(id).copied()
    }

    pub fn len(&self) -> i64 {
        i64::try_from(self.positions.len()).unwrap_or(i64::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }
}

#[derive(Default)]
pub struct Positions {
    /// An async lock held while a line is read from the store, so that a thousand
    /// sockets asking at once wait for one reading instead of each making its own.
    lines: Mutex<HashMap<QueueId, Arc<WaitingLine>>>,
    /// Bumped by every queue event; a line read before its queue's last bump is stale.
    generations: std::sync::Mutex<HashMap<QueueId, u64>>,
    /// Bumped when every line is stale at once; part of every queue's generation.
    everywhere: AtomicU64,
}

impl Positions {
    /// Something happened in the queue: its line must be read again.
    pub fn changed(&self, queue: &QueueId) {
        let mut generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        *generations.entry(queue.clone()).or_default() += 1;
    }

    /// Every queue's line must be read again (events may have been missed).
    pub fn changed_everywhere(&self) {
        self.everywhere.fetch_add(1, Ordering::Relaxed);
    }

    fn generation(&self, queue: &QueueId) -> u64 {
        let own = self.generations.lock().unwrap_or_else(|e| e.into_inner()).get(queue).copied().unwrap_or(0);
        own.wrapping_add(self.everywhere.load(Ordering::Relaxed) << 32)
    }

    /// The queue's waiting line: the one kept if it is current, else one `read` gives.
    pub async fn line<F, E>(&self, queue: &QueueId, read: F) -> Result<Arc<WaitingLine>, E>
    where
        F: AsyncFnOnce() -> Result<Vec<ConversationId>, E>,
    {
        let mut lines = self.lines.lock().await;
        // Taken before the reading: an event during it makes the line stale at once.
        let generation = self.generation(queue);
        if let Some(line) = lines.get(queue)
            && line.generation == generation
            && line.taken.elapsed() < MAX_AGE
        {
            return Ok(Arc::clone(line));
        }
        let line = Arc::new(WaitingLine::new(generation, read().await?));
        lines.insert(queue.clone(), Arc::clone(&line));
        Ok(line)
    }
}
