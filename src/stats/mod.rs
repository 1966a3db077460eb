//! Statistics for coordinators: time to first reply (median, p90), waiting now,
//! conversations per day, outcomes — by queue and language. Aggregates only: nothing
//! about a requester leaves this module. Conversations purged after `retention_days`
//! still count through `daily_stats` (without their reply times, which were not kept).

pub mod svg;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::QueueId;
use crate::domain::time::DAY_MS;
pub use crate::domain::time::day_of;
use crate::store::{Store, stats};

/// Median and 90th percentile of a set of durations, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    pub median: i64,
    pub p90: i64,
    pub count: usize,
}

impl Spread {
    /// Nearest-rank percentiles from (bucket upper bound, count) pairs: the bound of the
    /// bucket holding the ranked value.
    pub fn from_buckets(mut buckets: Vec<(i64, i64)>) -> Option<Self> {
        buckets.sort_unstable();
        let total: i64 = buckets.iter().map(|(_, n)| n).sum();
        if total <= 0 {
            return None;
        }
        let rank = |p: i64| {
            let wanted = ((total * p + 99) / 100).max(1);
            let mut seen = 0;
            for (upper, n) in &buckets {
                seen += n;
                if seen >= wanted {
                    return *upper;
                }
            }
            buckets.last().map_or(0, |(upper, _)| *upper)
        };
        Some(Self { median: rank(50), p90: rank(90), count: usize::try_from(total).unwrap_or(usize::MAX) })
    }

    /// Nearest-rank percentiles of `seconds` (which gets sorted).
    pub fn of(seconds: &mut [i64]) -> Option<Self> {
        if seconds.is_empty() {
            return None;
        }
        seconds.sort_unstable();
        let rank = |p: usize| seconds[(seconds.len() * p).div_ceil(100).max(1) - 1];
        Some(Self { median: rank(50), p90: rank(90), count: seconds.len() })
    }
}

/// One queue and language over the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub queue: String,
    pub lang: String,
    pub conversations: i64,
    pub first_reply: Option<Spread>,
    pub waiting_now: i64,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub days: u32,
    /// Conversations started per day (UTC), oldest first, every day of the period.
    pub per_day: Vec<(String, i64)>,
    pub outcomes: Vec<(String, i64)>,
    pub first_reply: Option<Spread>,
    pub waiting_now: i64,
    pub groups: Vec<Group>,
}

/// Reports computed in the last minute, by queues and period: coordinators reload, and a
/// report reads every conversation of the period.
#[derive(Default)]
pub struct ReportCache {
    recent: Mutex<HashMap<CacheKey, (Instant, Report)>>,
}

/// Queues and days of a report.
type CacheKey = (Vec<QueueId>, u32);

/// Per queue and language: conversations, reply-time buckets (upper bound, count), waiting.
#[derive(Default)]
struct Tally {
    conversations: i64,
    replies: Vec<(i64, i64)>,
    waiting: i64,
}

const CACHE_FOR: Duration = Duration::from_secs(60);

impl ReportCache {
    pub async fn report(
        &self,
        store: &Store,
        queues: &[QueueId],
        days: u32,
        now: i64,
    ) -> sqlx::Result<Report> {
        let key = (queues.to_vec(), days.clamp(1, 366));
        if let Some((at, report)) = self.recent.lock().unwrap_or_else(|e| e.into_inner()).get(&key)
            && at.elapsed() < CACHE_FOR
        {
            return Ok(report.clone());
        }
        let fresh = report(store, queues, days, now).await?;
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|_, (at, _)| at.elapsed() < CACHE_FOR);
        recent.insert(key, (Instant::now(), fresh.clone()));
        Ok(fresh)
    }
}

/// The report for `queues` over the last `days` days (today included), aggregated by the
/// database.
pub async fn report(store: &Store, queues: &[QueueId], days: u32, now: i64) -> sqlx::Result<Report> {
    let days = days.clamp(1, 366);
    let today_start = now.div_euclid(DAY_MS) * DAY_MS;
    let since = today_start - i64::from(days - 1) * DAY_MS;
    let mut per_day: BTreeMap<String, i64> =
        (0..i64::from(days)).map(|d| (day_of(since + d * DAY_MS), 0)).collect();
    if queues.is_empty() {
        return Ok(empty(days, per_day));
    }
    let mut outcomes: BTreeMap<String, i64> = BTreeMap::new();
    let mut groups: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut all_replies: BTreeMap<i64, i64> = BTreeMap::new();
    let mut conn = store.read.acquire().await?;
    for row in stats::started_since(&mut conn, queues, since).await? {
        *per_day.entry(day_of(row.day * DAY_MS)).or_default() += row.count;
        if !row.outcome.is_empty() {
            *outcomes.entry(row.outcome).or_default() += row.count;
        }
        groups.entry((row.queue, row.lang)).or_default().conversations += row.count;
    }
    for row in stats::reply_buckets_since(&mut conn, queues, since).await? {
        *all_replies.entry(row.upper).or_default() += row.count;
        groups.entry((row.queue, row.lang)).or_default().replies.push((row.upper, row.count));
    }
    for row in stats::purged_since(&mut conn, queues, &day_of(since)).await? {
        *per_day.entry(row.day).or_default() += row.count;
        if row.outcome != "none" {
            *outcomes.entry(row.outcome).or_default() += row.count;
        }
        groups.entry((row.queue, row.lang)).or_default().conversations += row.count;
    }
    let mut waiting_now = 0;
    for (queue, lang, waiting) in stats::waiting_now(&mut conn, queues).await? {
        waiting_now += waiting;
        groups.entry((queue, lang)).or_default().waiting += waiting;
    }
    Ok(Report {
        days,
        per_day: per_day.into_iter().collect(),
        outcomes: outcomes.into_iter().collect(),
        first_reply: Spread::from_buckets(all_replies.into_iter().collect()),
        waiting_now,
        groups: groups
            .into_iter()
            .map(|((queue, lang), tally)| Group {
                queue,
                lang,
                conversations: tally.conversations,
                first_reply: Spread::from_buckets(tally.replies),
                waiting_now: tally.waiting,
            })
            .collect(),
    })
}

fn empty(days: u32, per_day: BTreeMap<String, i64>) -> Report {
    Report {
        days,
        per_day: per_day.into_iter().collect(),
        outcomes: Vec::new(),
        first_reply: None,
        waiting_now: 0,
        groups: Vec::new(),
    }
}

/// The report as CSV: one line per queue and language, then one per day. Aggregates only.
pub fn csv(report: &Report) -> String {
    let mut out = String::from(
        "section,queue,lang,day,conversations,waiting_now,first_reply_median_s,first_reply_p90_s\n",
    );
    for g in &report.groups {
        let (median, p90) = g
            .first_reply
            .map_or((String::new(), String::new()), |s| (s.median.to_string(), s.p90.to_string()));
        out.push_str(&format!(
            "group,{},{},,{},{},{median},{p90}\n",
            csv_field(&g.queue),
            csv_field(&g.lang),
            g.conversations,
            g.waiting_now
        ));
    }
    for (day, count) in &report.per_day {
        out.push_str(&format!("day,,,{day},{count},,,\n"));
    }
    out
}

/// Queue ids and language codes are validated, but a CSV cell must never start a formula.
fn csv_field(value: &str) -> String {
    let safe = value.trim_start_matches(['=', '+', '-', '@']);
    if safe.contains([',', '"', '\n']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe.to_string()
    }
}

/// Medians are cached briefly: the widget asks on every dialog opening.
const MEDIAN_TTL: Duration = Duration::from_secs(30);

/// The median first-reply wait per queue, for the widget's honest availability.
#[derive(Default)]
pub struct WaitCache {
    medians: Mutex<HashMap<QueueId, (Instant, Option<i64>)>>,
}

impl WaitCache {
    /// Median seconds from request to first helper reply over the last day, if any.
    pub async fn median_wait_seconds(
        &self,
        store: &Store,
        queue: &QueueId,
        now: i64,
    ) -> sqlx::Result<Option<i64>> {
        if let Some((at, value)) = self.medians.lock().unwrap_or_else(|e| e.into_inner()).get(queue)
            && at.elapsed() < MEDIAN_TTL
        {
            return Ok(*value);
        }
        let mut conn = store.read.acquire().await?;
        let mut waits =
            crate::store::conversations::recent_first_reply_waits(&mut conn, queue, now - DAY_MS).await?;
        let median = median(&mut waits).map(|ms| (ms + 500) / 1000);
        self.medians
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(queue.clone(), (Instant::now(), median));
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
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        assert_eq!(Spread::of(&mut []), None);
        assert_eq!(Spread::of(&mut [7]), Some(Spread { median: 7, p90: 7, count: 1 }));
        let mut ten: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(Spread::of(&mut ten), Some(Spread { median: 5, p90: 9, count: 10 }));
        let mut hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(Spread::of(&mut hundred), Some(Spread { median: 50, p90: 90, count: 100 }));
    }

    #[test]
    fn percentiles_from_buckets() {
        assert_eq!(Spread::from_buckets(vec![]), None);
        // 10 replies: 5 within 5 s, 4 within 60 s, 1 within 3600 s.
        let spread = Spread::from_buckets(vec![(60, 4), (5, 5), (3600, 1)]).unwrap();
        assert_eq!(spread, Spread { median: 5, p90: 60, count: 10 });
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(DAY_MS - 1), "1970-01-01");
        assert_eq!(day_of(1_764_028_800_000), "2025-11-25");
    }

    #[test]
    fn csv_cells_cannot_start_formulas() {
        assert_eq!(csv_field("=cmd()"), "cmd()");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
