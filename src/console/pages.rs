//! Console pages (GET): sign-in, the queue dashboard, a conversation.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Ui;
use super::session::{self, ConsoleSession, LinkRefused, MaybeSession, SignedIn};
use crate::app::AppState;
use crate::config::{CannedReply, OtherTeam};
use crate::conversations::helper_ops::{self, HelperView};
use crate::conversations::model::{HelperMessage, Role, Status};
use crate::conversations::queries::{self, QueueFilter, QueueItem};
use crate::error::AppError;
use crate::mail::MailState;
use crate::sites::catalog;

/// Renders a template, or a plain 500 if it cannot be (a bug, logged). Pages are never
/// framed, and their addresses (which name conversations) never leave in a `Referer`;
/// `same-origin` rather than `no-referrer`, because with the latter browsers send
/// `Origin: null` on form posts, which the origin check must refuse.
pub fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, [("x-frame-options", "DENY"), ("referrer-policy", "same-origin")], Html(html))
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering a console page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    pub uselang: Option<String>,
}

#[derive(Template)]
#[template(path = "console/message.html")]
pub struct MessagePage<'a> {
    pub ui: Ui<'a>,
    pub title: String,
    pub text: String,
    pub back: Option<String>,
}

/// An error as a page in the helper's language, with the way back.
pub fn error_page(state: &AppState, headers: &HeaderMap, error: &AppError, back: Option<String>) -> Response {
    if let AppError::Internal(e) = error {
        tracing::error!(error = %e, "console request failed");
    }
    let ui = Ui::new(&state.i18n, headers, None);
    let page =
        MessagePage { title: ui.t("helpline-console-error-title"), text: error.public_message(), back, ui };
    render(&page, error.status())
}

#[derive(Template)]
#[template(path = "console/signin.html")]
struct SigninPage<'a> {
    ui: Ui<'a>,
    link_minutes: String,
    oauth: bool,
    /// Outbound mail is set up: helpers with an address can ask for a link by mail.
    by_email: bool,
}

pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Query(q): Query<LangQuery>,
) -> Response {
    if session.is_some() {
        return Redirect::to("/console").into_response();
    }
    let ui = Ui::new(&state.i18n, &headers, q.uselang.as_deref());
    let page = SigninPage {
        ui,
        link_minutes: state.config.console.link_minutes.to_string(),
        oauth: state.config.console.oauth.is_some(),
        by_email: state.mailer.is_some(),
    };
    render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "console/link.html")]
struct LinkPage<'a> {
    ui: Ui<'a>,
    name: String,
    token: String,
}

/// Shows "continue as NAME" with a button: the link is used up only by the POST, so a
/// mail scanner or a browser preloading the link cannot spend it.
pub async fn link(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LinkQuery>) -> Response {
    let ui = Ui::new(&state.i18n, &headers, None);
    match session::peek_link(&state.store, &q.token).await {
        Ok(Ok(helper)) => render(&LinkPage { ui, name: helper.name, token: q.token }, StatusCode::OK),
        Ok(Err(refused)) => refused_page(ui, &refused, state.config.console.link_minutes),
        Err(e) => error_page(&state, &headers, &AppError::from(e), None),
    }
}

pub fn refused_page(ui: Ui<'_>, refused: &LinkRefused, link_minutes: u32) -> Response {
    let key = match refused {
        LinkRefused::Unknown => "helpline-console-link-unknown",
        LinkRefused::Expired => "helpline-console-link-expired",
        LinkRefused::Used => "helpline-console-link-used",
    };
    let page = MessagePage {
        title: ui.t("helpline-console-link-refused-title"),
        text: ui.t1(key, &link_minutes.to_string()),
        back: Some("/console/signin".into()),
        ui,
    };
    render(&page, StatusCode::BAD_REQUEST)
}

/// The page context of a signed-in helper: their language, name, CSRF token and role.
pub fn page_ui<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    session: &ConsoleSession,
    uselang: Option<&str>,
) -> Ui<'a> {
    let mut ui = Ui::new(&state.i18n, headers, uselang);
    ui.csrf.clone_from(&session.csrf);
    ui.me = Some(session.helper.name.clone());
    ui.away = session.helper.away;
    ui.coordinator = !session.helper.coordinated_queues().is_empty();
    ui
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage<'a> {
    ui: Ui<'a>,
    name: String,
    use_alias: bool,
    alias: Option<String>,
    capacity: i64,
}

pub async fn settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Query(q): Query<LangQuery>,
) -> Response {
    let ui = page_ui(&state, &headers, &session, q.uselang.as_deref());
    let helper = session.helper;
    let page = SettingsPage {
        ui,
        use_alias: helper.alias.is_some(),
        alias: helper.alias,
        name: helper.name,
        capacity: helper.capacity,
    };
    render(&page, StatusCode::OK)
}

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
    queues: Vec<(String, String)>,
    sites: Vec<(String, String)>,
    languages: Vec<String>,
    filter: DashboardQuery,
    /// The part the console script refreshes (`/console/live`).
    live: DashboardLive<'a>,
}

/// The dashboard's live part: the offer, the listings, thanks and who is online. Served
/// alone at `/console/live`, so a queue event costs the open consoles one listing, not
/// a whole page.
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

pub async fn dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Query(q): Query<DashboardQuery>,
) -> Response {
    let ui = page_ui(&state, &headers, &session, q.uselang.as_deref());
    let live = match dashboard_lists(&state, ui.clone(), &session.helper, &q).await {
        Ok(live) => live,
        Err(e) => return error_page(&state, &headers, &e, None),
    };
    let helper = &session.helper;
    let queues = helper
        .queue_ids()
        .iter()
        .map(|id| (id.clone(), state.config.queue(id).map_or_else(|| id.clone(), |q| q.name.clone())))
        .collect();
    let sites = state
        .config
        .sites
        .iter()
        .filter(|s| helper.is_member(&s.queue))
        .map(|s| (s.id.clone(), s.name.clone()))
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
pub async fn dashboard_live(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Query(q): Query<DashboardQuery>,
) -> Response {
    let ui = page_ui(&state, &headers, &session, q.uselang.as_deref());
    match dashboard_lists(&state, ui, &session.helper, &q).await {
        Ok(live) => render(&live, StatusCode::OK),
        Err(e) => error_page(&state, &headers, &e, None),
    }
}

async fn dashboard_lists<'a>(
    state: &'a AppState,
    ui: Ui<'a>,
    helper: &crate::helpers::Helper,
    q: &DashboardQuery,
) -> Result<DashboardLive<'a>, AppError> {
    let member_queues = helper.queue_ids();
    let queues: Vec<String> = match q.queue.as_deref().filter(|s| !s.is_empty()) {
        Some(queue) if helper.is_member(queue) => vec![queue.to_string()],
        Some(_) => Vec::new(),
        None => member_queues.clone(),
    };
    let lang = q.lang.as_deref().filter(|s| !s.is_empty()).map(str::to_ascii_lowercase);
    let site = q.site.as_deref().filter(|s| !s.is_empty());
    let mut conn = state.store.read.acquire().await?;
    let open = QueueFilter {
        queues: &queues,
        lang: lang.as_deref(),
        status: None,
        site,
        owner_id: None,
        limit: 500,
    };
    let all = queries::queue_listing(&mut conn, &open).await?;
    let mine_filter = QueueFilter {
        queues: &member_queues,
        lang: None,
        status: None,
        site: None,
        owner_id: Some(&helper.id),
        limit: 500,
    };
    let mine = queries::queue_listing(&mut conn, &mine_filter).await?;
    drop(conn);
    let thanks = crate::thanks::received(&state.store, &helper.id, 5).await?;
    let offer = crate::conversations::offers::open_for(state, helper).await?;
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

#[derive(Template)]
#[template(path = "console/conversation.html")]
struct ConversationPage<'a> {
    ui: Ui<'a>,
    config: &'a crate::config::Config,
    c: HelperView,
    site_name: String,
    mine: bool,
    owned_by_other: bool,
    closed: bool,
    client_id: String,
    colleagues: Vec<String>,
    other_queues: Vec<(String, String)>,
    teams: Vec<OtherTeam>,
    replies: Vec<CannedReply>,
    /// Other helpers with this conversation open now.
    viewers: Vec<String>,
    /// When the block on this requester ends (RFC 3339), if one is in force.
    blocked_until: Option<String>,
}

pub async fn conversation(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let ui = page_ui(&state, &headers, &session, q.uselang.as_deref());
    let helper = &session.helper;
    let loaded = async {
        let c = helper_ops::authorize(&state, helper, &id).await?;
        let view = helper_ops::view(&state, helper, &c, 0).await?;
        let blocked_until = crate::blocks::blocked_until(&state.store, &c).await?;
        let colleagues = crate::helpers::list(&state.store)
            .await
            .map_err(|e| AppError::Internal(e.into()))?
            .into_iter()
            .filter(|h| h.is_member(&c.queue) && h.id != helper.id)
            .map(|h| h.name)
            .collect::<Vec<_>>();
        let teams = catalog::other_teams(&state.store, &state.config, &c.site).await?;
        let replies = catalog::replies_for(&state.store, &state.config, &c.site, &c.lang).await?;
        Ok::<_, AppError>((c, view, colleagues, blocked_until, teams, replies))
    }
    .await;
    let (c, view, colleagues, blocked_until, teams, replies) = match loaded {
        Ok(x) => x,
        Err(e) => return error_page(&state, &headers, &e, Some("/console".into())),
    };
    let site = state.config.site(&c.site);
    let page = ConversationPage {
        config: &state.config,
        site_name: site.map_or_else(|| c.site.clone(), |s| s.name.clone()),
        mine: c.owner_id.as_deref() == Some(helper.id.as_str()),
        owned_by_other: c.owner_id.as_deref().is_some_and(|o| o != helper.id),
        closed: c.status == Status::Closed,
        client_id: crate::secrets::new_id(),
        colleagues,
        other_queues: state
            .config
            .queues
            .iter()
            .filter(|q| q.id != c.queue)
            .map(|q| (q.id.clone(), q.name.clone()))
            .collect(),
        teams,
        replies,
        viewers: state.viewers.of(&c.id).into_iter().filter(|name| *name != helper.name).collect(),
        blocked_until: blocked_until.map(crate::conversations::model::rfc3339),
        c: view,
        ui,
    };
    render(&page, StatusCode::OK)
}

impl ConversationPage<'_> {
    /// How a message's author is labelled: internal notes say so in their label too, not
    /// only in their colour.
    fn label(&self, m: &HelperMessage) -> String {
        let name = m.author_name.as_deref().unwrap_or("");
        match (m.author_role, m.internal) {
            (Role::Requester, _) => self.ui.t("helpline-console-requester"),
            (Role::System, _) => self.ui.t("helpline-console-system"),
            (Role::Helper, true) => self.ui.t1("helpline-console-note-by", name),
            (Role::Helper, false) => name.to_string(),
        }
    }

    fn status_label(&self) -> String {
        self.ui.t(&format!("helpline-console-status-{}", self.c.status.as_str()))
    }

    fn mail_label(&self, state: &MailState) -> String {
        self.ui.t(match state {
            MailState::Sent => "helpline-console-mail-sent",
            MailState::Pending => "helpline-console-mail-pending",
            MailState::Failed => "helpline-console-mail-failed",
        })
    }
}

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
    queues: Vec<(String, String)>,
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
fn coordinated(helper: &crate::helpers::Helper, wanted: Option<&str>) -> Result<Vec<String>, AppError> {
    let mine = helper.coordinated_queues();
    if mine.is_empty() {
        return Err(AppError::Forbidden("Statistics are for the coordinators of a queue.".into()));
    }
    match wanted.filter(|q| !q.is_empty()) {
        Some(q) if mine.iter().any(|m| m == q) => Ok(vec![q.to_string()]),
        Some(_) => Err(AppError::Forbidden("You do not coordinate that queue.".into())),
        None => Ok(mine),
    }
}

pub async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Query(q): Query<StatsQuery>,
) -> Response {
    let ui = page_ui(&state, &headers, &session, q.uselang.as_deref());
    let queues = match coordinated(&session.helper, q.queue.as_deref()) {
        Ok(queues) => queues,
        Err(e) => return error_page(&state, &headers, &e, Some("/console".into())),
    };
    let days = q.days.unwrap_or(30);
    let report = match state.reports.report(&state.store, &queues, days).await {
        Ok(report) => report,
        Err(e) => return error_page(&state, &headers, &AppError::from(e), Some("/console".into())),
    };
    let since = crate::store::now_ms() - i64::from(report.days) * 86_400_000;
    let thanks = match crate::thanks::aggregate(&state.store, &queues, since).await {
        Ok((n, _, mean)) => (n, mean.map(|m| format!("{m:.1}"))),
        Err(e) => return error_page(&state, &headers, &AppError::from(e), Some("/console".into())),
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
    let page = StatsPage {
        thanks,
        queues: session
            .helper
            .coordinated_queues()
            .into_iter()
            .map(|id| {
                let name = state.config.queue(&id).map_or_else(|| id.clone(), |q| q.name.clone());
                (id, name)
            })
            .collect(),
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
pub async fn stats_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Query(q): Query<StatsQuery>,
) -> Response {
    let result = async {
        let queues = coordinated(&session.helper, q.queue.as_deref())?;
        Ok::<_, AppError>(state.reports.report(&state.store, &queues, q.days.unwrap_or(30)).await?)
    }
    .await;
    match result {
        Ok(report) => (
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"helpline-stats.csv\""),
            ],
            crate::stats::csv(&report),
        )
            .into_response(),
        Err(e) => error_page(&state, &headers, &e, Some("/console".into())),
    }
}
