//! Latency histograms (microsecond resolution) and their summaries.

use std::fmt;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Latencies from 1 µs to 5 minutes, 3 significant digits.
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    const MAX_MICROS: u64 = 300_000_000;

    pub fn new() -> Self {
        // The bounds are constants that hdrhistogram accepts.
        Self(Histogram::new_with_bounds(1, Self::MAX_MICROS, 3).expect("valid histogram bounds"))
    }

    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.clamp(1, Self::MAX_MICROS));
    }

    pub fn merge(&mut self, other: &Self) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    pub fn summary(&self) -> Summary {
        let h = &self.0;
        let at = |q: f64| Duration::from_micros(if h.is_empty() { 0 } else { h.value_at_quantile(q) });
        Summary {
            count: h.len(),
            mean: Duration::from_secs_f64(if h.is_empty() { 0.0 } else { h.mean() / 1e6 }),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: Duration::from_micros(h.max()),
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
