//! The time every rule reads: the system's clock, shifted forward when told to. The
//! server reads it through `AppState::clock` and never calls the system clock itself,
//! so a test can let days pass (`Clock::advance`) and see retention, the reopen window
//! and waiting times act, instead of editing stored times behind the server's back.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Added to the system time; shared by every copy of this clock.
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system's time (what a server runs on).
    pub fn system() -> Self {
        Self::default()
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        system_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock, and every copy of it, forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// The system's time in Unix milliseconds, for what is not a rule: timing a seed run,
/// naming a file.
pub fn system_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// The one loop of the periodic jobs: `round` now, then every `period`, each to its end
/// before the next (a slow round delays the next rather than piling up), until
/// `shutdown`. A round reports its own failures; the loop goes on.
pub async fn every<F, Fut>(period: Duration, shutdown: &CancellationToken, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        round().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_advance_together() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now_ms();
        clock.advance(Duration::from_secs(86_400));
        assert!(copy.now_ms() - before >= 86_400_000);
    }
}
