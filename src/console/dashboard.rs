//! The dashboard: what waits in the helper's queues, what is theirs, what colleagues
//! have open, the offer made to them, their thanks, and who is online. Its live part is
//! served alone too (`/console/live`), so a queue event costs the open consoles one
//! listing, not a whole page.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::Ui;
use super::guard::SignedIn;
use super::render::{error_page, render};
use crate::conversations::{helper_ops, offers};
use crate::domain::{Helper, QueueId, QueueItem, Status};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::conversations::QueueFilter;

/// Listings show at most this many rows each.
const ROWS: i64 = 500;

#[derive(Deserialize, Default)]
pub struct DashboardQuery {
    pub uselang: Option<String>,
    pub queue: Option<String>,
    pub lang: Option<String>,
    pub site: Option<String>,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct Dashboard<'a> {
    ui: Ui<'a>,
    queues: Vec<(QueueId, String)>,
    sites: Vec<(String, String)>,
    languages: Vec<String>,
    filter: DashboardQuery,
    live: DashboardLive<'a>,
}

/// The dashboard's live part: the offer, the listings, thanks and who is online.
#[derive(Template)]
#[template(path = "console/dashboard_live.html")]
struct DashboardLive<'a> {
    ui: Ui<'a>,
    config: &'a crate::config::Config,
    waiting: Vec<QueueItem>,
    others_open: Vec<QueueItem>,
    mine: Vec<QueueItem>,
    online: Vec<(String, bool)>,
    /// Waiting requests this helper can take (their queues and languages).
    for_me: usize,
    /// "2 of 5": open conversations and capacity; at capacity, no "take next".
    load: (usize, i64),
    thanks: Vec<crate::thanks::Received>,
    /// The request offered to this helper now (auto-offer).
    offer: Option<QueueItem>,
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Query(q): Query<DashboardQuery>,
) -> Response {
    let ui = Ui::signed_in(&state, &headers, &session, q.uselang.as_deref());
    let live = match lists(&state, ui.clone(), &session.helper, &q).await {
        Ok(live) => live,
        Err(e) => return error_page(&state, &headers, &e, None),
    };
    let helper = &session.helper;
    let queues =
        helper.queue_ids().into_iter().map(|id| (id.clone(), state.config.queue_name(&id))).collect();
    let sites = state
        .config
        .sites
        .iter()
        .filter(|s| helper.is_member(&s.queue))
        .map(|s| (s.id.to_string(), s.name.clone()))
        .collect();
    let mut languages: Vec<String> = state
        .config
        .queues
        .iter()
        .filter(|q| helper.is_member(&q.id))
        .flat_map(|q| q.languages.clone())
        .chain(state.config.sites.iter().filter(|s| helper.is_member(&s.queue)).map(|s| s.language.clone()))
        .collect();
    languages.sort();
    languages.dedup();
    render(&Dashboard { ui, queues, sites, languages, filter: q, live }, StatusCode::OK)
}

/// `GET /console/live`: the dashboard's live part alone, with the same filters.
pub async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Query(q): Query<DashboardQuery>,
) -> Response {
    let ui = Ui::signed_in(&state, &headers, &session, q.uselang.as_deref());
    match lists(&state, ui, &session.helper, &q).await {
        Ok(live) => render(&live, StatusCode::OK),
        Err(e) => error_page(&state, &headers, &e, None),
    }
}

async fn lists<'a>(
    state: &'a AppState,
    ui: Ui<'a>,
    helper: &Helper,
    q: &DashboardQuery,
) -> Result<DashboardLive<'a>, AppError> {
    let member_queues = helper.queue_ids();
    let queues: Vec<QueueId> = match q.queue.as_deref().filter(|s| !s.is_empty()) {
        Some(queue) if helper.is_member(queue) => vec![queue.into()],
        Some(_) => Vec::new(),
        None => member_queues.clone(),
    };
    let lang = q.lang.as_deref().filter(|s| !s.is_empty()).map(str::to_ascii_lowercase);
    let site = q.site.as_deref().filter(|s| !s.is_empty());
    let open = QueueFilter { lang: lang.as_deref(), site, ..QueueFilter::open_in(&queues, ROWS) };
    let all = helper_ops::listing(state, helper, &open).await?;
    let mine = helper_ops::listing(
        state,
        helper,
        &QueueFilter { owner_id: Some(&helper.id), ..QueueFilter::open_in(&member_queues, ROWS) },
    )
    .await?;
    let thanks = crate::thanks::received(state, &helper.id, 5).await?;
    let offer = offers::open_for(state, helper).await?;
    let (waiting, others_open): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.status == Status::Waiting);
    let others_open = others_open.into_iter().filter(|c| c.owner.as_deref() != Some(&helper.name)).collect();
    let for_me = waiting.iter().filter(|c| helper.speaks(&c.lang)).count();
    Ok(DashboardLive {
        load: (mine.len(), helper.capacity),
        thanks,
        offer,
        for_me,
        config: &state.config,
        online: state.presence.online_in(&member_queues),
        ui,
        waiting,
        others_open,
        mine,
    })
}
