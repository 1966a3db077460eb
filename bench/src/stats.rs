//! Latency samples and their summaries (exact quantiles, microsecond resolution).

use std::fmt;
use std::time::{Duration, Instant};

/// Latencies recorded by one task, merged into one set per figure at the end. Samples
/// are kept (4 bytes each) rather than bucketed: a run records at most a few million,
/// and a thousand small vectors cost less than a thousand histograms.
#[derive(Default)]
pub struct Latencies {
    micros: Vec<u32>,
}

impl Latencies {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&mut self, latency: Duration) {
        self.micros.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn merge(&mut self, other: &Self) {
        self.micros.extend_from_slice(&other.micros);
    }

    pub fn summary(&self) -> Summary {
        let mut sorted = self.micros.clone();
        sorted.sort_unstable();
        // Nearest rank: the smallest sample with at least a fraction q of them at or below it.
        let at = |q: f64| {
            let rank = (q * sorted.len() as f64).ceil() as usize;
            let micros = sorted.get(rank.saturating_sub(1)).copied().unwrap_or(0);
            Duration::from_micros(u64::from(micros))
        };
        let total: u64 = sorted.iter().map(|&m| u64::from(m)).sum();
        Summary {
            count: sorted.len() as u64,
            mean: Duration::from_micros(total.checked_div(sorted.len() as u64).unwrap_or(0)),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: at(1.0),
        }
    }
}

/// The measured part of a run: what happens in it counts, warm-up and drain do not.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub from: Instant,
    pub to: Instant,
}

impl Window {
    pub fn after(start: Instant, warmup: Duration, duration: Duration) -> Self {
        let from = start + warmup;
        Self { from, to: from + duration }
    }

    pub fn contains(&self, at: Instant) -> bool {
        self.from <= at && at < self.to
    }

    pub fn seconds(&self) -> f64 {
        (self.to - self.from).as_secs_f64()
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub count: u64,
    pub mean: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

/// Milliseconds with a precision that suits the size: `0.412 ms`, `12.3 ms`, `1520 ms`.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.3} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {}, p99 {}, p99.9 {}, max {}, mean {} (n = {})",
            ms(self.p50),
            ms(self.p99),
            ms(self.p999),
            ms(self.max),
            ms(self.mean),
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let mut l = Latencies::new();
        for micros in 1..=1000 {
            l.record(Duration::from_micros(micros));
        }
        let s = l.summary();
        assert_eq!(s.count, 1000);
        assert_eq!(s.p50, Duration::from_micros(500));
        assert_eq!(s.p99, Duration::from_micros(990));
        assert_eq!(s.max, Duration::from_micros(1000));
        assert_eq!(ms(Duration::from_micros(412)), "0.412 ms");
    }
}
