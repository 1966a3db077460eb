//! The coordinators' statistics: time to first reply, waiting now, conversations per
//! day, outcomes and thanks — aggregates only — as a page with charts and as CSV.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Ui;
use super::guard::SignedIn;
use super::render::{error_page, render};
use crate::domain::time::DAY_MS;
use crate::domain::{Helper, QueueId};
use crate::error::AppError;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct StatsQuery {
    pub uselang: Option<String>,
    pub queue: Option<String>,
    pub days: Option<u32>,
}

#[derive(Template)]
#[template(path = "console/stats.html")]
struct StatsPage<'a> {
    ui: Ui<'a>,
    queues: Vec<(QueueId, String)>,
    queue: Option<String>,
    report: crate::stats::Report,
    total: i64,
    outcomes: Vec<(String, i64)>,
    per_day_chart: String,
    outcomes_chart: String,
    csv_link: String,
    /// Thanks in the period: how many, and the mean rating as text ("4.3").
    thanks: (i64, Option<String>),
}

/// The queues a coordinator asked about: one they coordinate, or all of them. Helpers who
/// coordinate nothing get a 403.
fn coordinated(helper: &Helper, wanted: Option<&str>) -> Result<Vec<QueueId>, AppError> {
    let mine = helper.coordinated_queues();
    if mine.is_empty() {
        return Err(AppError::Forbidden("Statistics are for the coordinators of a queue.".into()));
    }
    match wanted.filter(|q| !q.is_empty()) {
        Some(q) if helper.coordinates(q) => Ok(vec![q.into()]),
        Some(_) => Err(AppError::Forbidden("You do not coordinate that queue.".into())),
        None => Ok(mine),
    }
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Query(q): Query<StatsQuery>,
) -> Response {
    let ui = Ui::signed_in(&state, &headers, &session, q.uselang.as_deref());
    let loaded = async {
        let queues = coordinated(&session.helper, q.queue.as_deref())?;
        let report =
            state.reports.report(&state.store, &queues, q.days.unwrap_or(30), state.now_ms()).await?;
        let since = state.now_ms() - i64::from(report.days) * DAY_MS;
        let (n, _, mean) = crate::thanks::aggregate(&state, &queues, since).await?;
        Ok::<_, AppError>((report, (n, mean.map(|m| format!("{m:.1}")))))
    }
    .await;
    let (report, thanks) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return error_page(&state, &headers, &e, Some("/console".into())),
    };
    let outcomes: Vec<(String, i64)> = report
        .outcomes
        .iter()
        .map(|(outcome, n)| (ui.t(&format!("helpline-console-outcome-{outcome}")), *n))
        .collect();
    let per_day_chart =
        crate::stats::svg::columns("per-day", &ui.t("helpline-console-stats-per-day"), &report.per_day);
    let outcomes_chart =
        crate::stats::svg::bars("outcomes", &ui.t("helpline-console-stats-outcomes"), &outcomes);
    let queue = q.queue.filter(|s| !s.is_empty());
    let csv_link = format!(
        "/console/stats.csv?days={}{}",
        report.days,
        queue.as_deref().map(|q| format!("&queue={q}")).unwrap_or_default()
    );
    let queues = session
        .helper
        .coordinated_queues()
        .into_iter()
        .map(|id| (id.clone(), state.config.queue_name(&id)))
        .collect();
    let page = StatsPage {
        thanks,
        queues,
        queue,
        total: report.per_day.iter().map(|(_, n)| n).sum(),
        outcomes,
        per_day_chart,
        outcomes_chart,
        csv_link,
        report,
        ui,
    };
    render(&page, StatusCode::OK)
}

/// The same figures as CSV, for a coordinator's spreadsheet.
pub async fn csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Query(q): Query<StatsQuery>,
) -> Response {
    let result = async {
        let queues = coordinated(&session.helper, q.queue.as_deref())?;
        Ok::<_, AppError>(
            state.reports.report(&state.store, &queues, q.days.unwrap_or(30), state.now_ms()).await?,
        )
    }
    .await;
    match result {
        Ok(report) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"helpline-stats.csv\""),
            ],
            crate::stats::csv(&report),
        )
            .into_response(),
        Err(e) => error_page(&state, &headers, &e, Some("/console".into())),
    }
}
