//! Statistics for coordinators: time to first reply (median, p90), waiting now,
//! conversations per day, outcomes — by queue and language. Aggregates only: nothing
//! about a requester leaves this module. Conversations purged after `retention_days`
//! still count through `daily_stats` (without their reply times, which were not kept).

pub mod svg;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::store::{Store, now_ms};

const DAY_MS: i64 = 86_400_000;

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

pub fn day_of(ms: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Reports computed in the last minute, by queues and period: coordinators reload, and a
/// report reads every conversation of the period.
#[derive(Default)]
pub struct ReportCache {
    recent: Mutex<HashMap<CacheKey, (Instant, Report)>>,
}

/// Queues and days of a report.
type CacheKey = (Vec<String>, u32);

/// Per queue and language: conversations, reply-time buckets (upper bound, count), waiting.
#[derive(Default)]
struct Tally {
    conversations: i64,
    replies: Vec<(i64, i64)>,
    waiting: i64,
}

const CACHE_FOR: Duration = Duration::from_secs(60);

impl ReportCache {
    pub async fn report(&self, store: &Store, queues: &[String], days: u32) -> sqlx::Result<Report> {
        let key = (queues.to_vec(), days.clamp(1, 366));
        if let Some((at, report)) = self.recent.lock().unwrap_or_else(|e| e.into_inner()).get(&key)
            && at.elapsed() < CACHE_FOR
        {
            return Ok(report.clone());
        }
        let fresh = report(store, queues, days).await?;
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|_, (at, _)| at.elapsed() < CACHE_FOR);
        recent.insert(key, (Instant::now(), fresh.clone()));
        Ok(fresh)
    }
}

/// The upper bound, in seconds, of the bucket a reply time falls in: 5 s wide below ten
/// minutes, a minute wide below two hours, ten minutes beyond. Percentiles are read from
/// these buckets, so they are exact to the bucket: "within 45 s" means 40 to 45 s.
const BUCKET_SQL: &str = "CASE WHEN d < 600 THEN (d / 5) * 5 + 5 WHEN d < 7200 THEN (d / 60) * 60 + 60 \
                          ELSE (d / 600) * 600 + 600 END";

/// The report for `queues` over the last `days` days (today included), aggregated by the
/// database.
pub async fn report(store: &Store, queues: &[String], days: u32) -> sqlx::Result<Report> {
    let days = days.clamp(1, 366);
    let today_start = now_ms().div_euclid(DAY_MS) * DAY_MS;
    let since = today_start - i64::from(days - 1) * DAY_MS;
    let mut per_day: BTreeMap<String, i64> =
        (0..i64::from(days)).map(|d| (day_of(since + d * DAY_MS), 0)).collect();
    let mut outcomes: BTreeMap<String, i64> = BTreeMap::new();
    let mut groups: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut all_replies: BTreeMap<i64, i64> = BTreeMap::new();
    if queues.is_empty() {
        return Ok(empty(days, per_day));
    }
    let list =
        |first: usize| (0..queues.len()).map(|i| format!("${}", i + first)).collect::<Vec<_>>().join(", ");
    let mut conn = store.read.acquire().await?;

    let sql = format!(
        "SELECT queue, lang, created_at / {DAY_MS} AS day, COALESCE(outcome, '') AS outcome, COUNT(*) AS n \
         FROM conversations WHERE created_at >= $1 AND queue IN ({}) GROUP BY queue, lang, day, outcome",
        list(2)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since);
    for q in queues {
        query = query.bind(q);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let n: i64 = row.try_get("n")?;
        let day: i64 = row.try_get("day")?;
        *per_day.entry(day_of(day * DAY_MS)).or_default() += n;
        let outcome: String = row.try_get("outcome")?;
        if !outcome.is_empty() {
            *outcomes.entry(outcome).or_default() += n;
        }
        groups.entry((row.try_get("queue")?, row.try_get("lang")?)).or_default().conversations += n;
    }

    let sql = format!(
        "SELECT queue, lang, {BUCKET_SQL} AS upper, COUNT(*) AS n FROM \
         (SELECT queue, lang, (first_reply_at - created_at) / 1000 AS d FROM conversations \
          WHERE created_at >= $1 AND first_reply_at IS NOT NULL AND queue IN ({})) AS replies \
         GROUP BY queue, lang, upper",
        list(2)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since);
    for q in queues {
        query = query.bind(q);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let (upper, n): (i64, i64) = (row.try_get("upper")?, row.try_get("n")?);
        groups.entry((row.try_get("queue")?, row.try_get("lang")?)).or_default().replies.push((upper, n));
        *all_replies.entry(upper).or_default() += n;
    }

    let sql = format!(
        "SELECT day, queue, lang, outcome, conversations FROM daily_stats WHERE day >= $1 AND queue IN ({})",
        list(2)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(day_of(since));
    for q in queues {
        query = query.bind(q);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let count: i64 = row.try_get("conversations")?;
        *per_day.entry(row.try_get("day")?).or_default() += count;
        let outcome: String = row.try_get("outcome")?;
        if outcome != "none" {
            *outcomes.entry(outcome).or_default() += count;
        }
        groups.entry((row.try_get("queue")?, row.try_get("lang")?)).or_default().conversations += count;
    }

    let sql = format!(
        "SELECT queue, lang, COUNT(*) AS waiting FROM conversations WHERE status = 'waiting' AND queue IN ({}) \
         GROUP BY queue, lang",
        list(1)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for q in queues {
        query = query.bind(q);
    }
    let mut waiting_now = 0;
    for row in query.fetch_all(&mut *conn).await? {
        let waiting: i64 = row.try_get("waiting")?;
        waiting_now += waiting;
        groups.entry((row.try_get("queue")?, row.try_get("lang")?)).or_default().waiting += waiting;
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

#[cfg(test)]
mod tests {
    use super::*;

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
