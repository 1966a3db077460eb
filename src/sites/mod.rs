//! Sites (wikis showing the button): their settings for the widget, and honest
//! availability — helpers available now and the median first-reply wait of the last day.

pub mod catalog;
pub mod routes;
pub mod wiki_context;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::conversations::queries;
use crate::store::{Store, now_ms};

/// Medians are cached briefly: the widget asks on every dialog opening.
const MEDIAN_TTL: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct WaitCache {
    medians: Mutex<HashMap<String, (Instant, Option<i64>)>>,
}

impl WaitCache {
    /// Median seconds from request to first helper reply over the last day, if any.
    pub async fn median_wait_seconds(&self, store: &Store, queue: &str) -> sqlx::Result<Option<i64>> {
        if let Some((at, value)) = self.medians.lock().unwrap_or_else(|e| e.into_inner()).get(queue)
            && at.elapsed() < MEDIAN_TTL
        {
            return Ok(*value);
        }
        let mut conn = store.read.acquire().await?;
        let mut waits = queries::recent_first_reply_waits(&mut conn, queue, now_ms() - 86_400_000).await?;
        let median = median(&mut waits).map(|ms| (ms + 500) / 1000);
        self.medians
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(queue.to_string(), (Instant::now(), median));
        Ok(median)
    }
}

pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2 } else { values[mid] })
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(super::median(&mut []), None);
        assert_eq!(super::median(&mut [5, 1, 3]), Some(3));
        assert_eq!(super::median(&mut [4, 1, 3, 2]), Some(2));
    }
}
