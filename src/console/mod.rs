//! The helper console, an edge: server-rendered pages (askama templates in
//! `templates/console/`) with a small script (`web/console/console.js`) for live
//! updates. The same operations as the helper API (`conversations::helper_ops`), by a
//! browser session instead of a bearer token (`guard`). See docs/CONSOLE.md.

mod actions;
mod applications;
mod catalog;
mod conversation;
mod dashboard;
mod email_link;
pub mod guard;
mod oauth;
mod pages;
mod render;
mod stats;
mod team;
mod wiki_actions;
mod wiki_panel;

use axum::Router;
use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::i18n::{I18n, RTL_LANGUAGES};
use crate::state::AppState;

const CONSOLE_JS: &str = include_str!("../../web/console/console.js");
const CONSOLE_CSS: &str = include_str!("../../web/console/console.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(signin_routes())
        .merge(conversation_routes())
        .merge(coordinator_routes())
        .route("/console", get(dashboard::page))
        .route("/console/live", get(dashboard::live))
        .route("/console/presence", post(actions::presence))
        .route("/console/next", post(actions::take_next))
        .route("/console/offers/{id}/decline", post(actions::decline_offer))
        .route("/console/settings", get(pages::settings).post(actions::settings))
        .route("/console/assets/console.js", get(|| asset("text/javascript; charset=utf-8", CONSOLE_JS)))
        .route("/console/assets/console.css", get(|| asset("text/css; charset=utf-8", CONSOLE_CSS)))
}

fn signin_routes() -> Router<AppState> {
    Router::new()
        .route("/console/signin", get(pages::signin))
        .route("/console/session", get(pages::session))
        .route("/console/signin/link", get(pages::link).post(actions::redeem_link))
        .route("/console/signin/email", post(email_link::request))
        .route("/console/signout", post(actions::signout))
        .route("/console/apply/wiki", post(applications::file_as_wiki_user))
        .route("/console/oauth/start", get(oauth::start))
        .route("/console/oauth/callback", get(oauth::callback))
}

/// A conversation's page and what a helper does there, one typed route per action.
fn conversation_routes() -> Router<AppState> {
    let action = |name: &str| format!("/console/conversations/{{id}}/{name}");
    Router::new()
        .route("/console/conversations/{id}", get(conversation::page))
        .route("/console/conversations/{id}/context", get(wiki_panel::show))
        .route(&action("claim"), post(actions::claim))
        .route(&action("release"), post(actions::release))
        .route(&action("reply"), post(actions::reply))
        .route(&action("note"), post(actions::note))
        .route(&action("transfer"), post(actions::transfer))
        .route(&action("redirect"), post(actions::redirect))
        .route(&action("block"), post(actions::block))
        .route(&action("unblock"), post(actions::unblock))
        .route(&action("close"), post(actions::close))
        .route(&action("trouble"), post(wiki_actions::trouble))
        .route(&action("evidence"), post(wiki_actions::send_evidence))
        .route(&action("talk-page"), post(wiki_actions::propose_move))
}

/// Statistics, members and blocks, canned replies and other teams.
fn coordinator_routes() -> Router<AppState> {
    let site = |name: &str| format!("/console/sites/{{site}}/{name}");
    Router::new()
        .route("/console/stats", get(stats::page))
        .route("/console/stats.csv", get(stats::csv))
        .route("/console/team", get(team::show))
        .route("/console/team/invite", post(team::invite))
        .route("/console/team/remove", post(team::remove))
        .route("/console/team/role", post(team::role))
        .route("/console/team/lift", post(team::lift))
        .route("/console/team/decide", post(applications::decide))
        .route("/console/apply", get(applications::page).post(applications::file_as_helper))
        .route("/console/sites", get(catalog::index))
        .route("/console/sites/{site}", get(catalog::show))
        .route(&site("reply-save"), post(catalog::reply_save))
        .route(&site("reply-remove"), post(catalog::reply_remove))
        .route(&site("reply-restore"), post(catalog::reply_restore))
        .route(&site("team-save"), post(catalog::team_save))
        .route(&site("team-remove"), post(catalog::team_remove))
        .route(&site("team-restore"), post(catalog::team_restore))
}

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")], body)
}

/// What every console page needs: texts in the helper's language, its direction, the
/// CSRF token for forms, and who is signed in.
#[derive(Clone)]
pub struct Ui<'a> {
    i18n: &'a I18n,
    pub lang: String,
    pub dir: &'static str,
    pub csrf: String,
    pub me: Option<String>,
    pub away: bool,
    /// Coordinates at least one queue (sees the statistics link).
    pub coordinator: bool,
    /// The server's time, for "waiting 5 min".
    pub now: i64,
}

impl<'a> Ui<'a> {
    /// The language: `?uselang=`, else the first of the browser's languages that has a
    /// catalogue, else English.
    pub fn new(i18n: &'a I18n, now: i64, headers: &HeaderMap, uselang: Option<&str>) -> Self {
        let wanted = uselang
            .map(str::to_string)
            .into_iter()
            .chain(
                headers
                    .get(ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .split(',')
                    .map(|part| part.split(';').next().unwrap_or("").trim().to_ascii_lowercase()),
            )
            .find(|lang| !lang.is_empty() && i18n.has_language(lang.split('-').next().unwrap_or(lang)));
        let lang =
            wanted.map_or_else(|| "en".to_string(), |l| l.split('-').next().unwrap_or("en").to_string());
        let dir = if RTL_LANGUAGES.contains(&lang.as_str()) { "rtl" } else { "ltr" };
        Self { i18n, lang, dir, csrf: String::new(), me: None, away: false, coordinator: false, now }
    }

    /// The texts of a request's page: its language from `uselang` or the browser's.
    pub fn of(state: &'a AppState, headers: &HeaderMap, uselang: Option<&str>) -> Self {
        Self::new(&state.i18n, state.now_ms(), headers, uselang)
    }

    /// The page context of a signed-in helper: their language, name, CSRF token and role.
    pub fn signed_in(
        state: &'a AppState,
        headers: &HeaderMap,
        session: &crate::helpers::signin::ConsoleSession,
        uselang: Option<&str>,
    ) -> Self {
        let mut ui = Self::of(state, headers, uselang);
        ui.csrf.clone_from(&session.csrf);
        ui.me = Some(session.helper.name.clone());
        ui.away = session.helper.away;
        ui.coordinator = !session.helper.coordinated_queues().is_empty();
        ui
    }

    pub fn t(&self, key: &str) -> String {
        self.i18n.format(&self.lang, key, &[])
    }

    pub fn t1(&self, key: &str, a: &str) -> String {
        self.i18n.format(&self.lang, key, &[a])
    }

    pub fn t2(&self, key: &str, a: &str, b: &str) -> String {
        self.i18n.format(&self.lang, key, &[a, b])
    }

    /// The few texts the console script shows, as JSON for a `data-` attribute.
    pub fn script_texts(&self) -> String {
        let texts: serde_json::Map<String, serde_json::Value> =
            ["live", "reconnecting", "typing", "new-request", "offered", "also-viewing"]
                .iter()
                .map(|k| ((*k).to_string(), self.t(&format!("helpline-console-{k}")).into()))
                .collect();
        serde_json::Value::Object(texts).to_string()
    }

    /// The time of day of an RFC 3339 time, `HH:MM` UTC; the console script shows it in
    /// the helper's own time zone.
    pub fn clock(&self, rfc3339: &str) -> String {
        rfc3339.get(11..16).unwrap_or(rfc3339).to_string()
    }

    /// The label a site gives a topic id (the id itself if the site does not know it).
    pub fn topic(&self, config: &crate::config::Config, site: &crate::domain::SiteId, topic: &str) -> String {
        config
            .site(site)
            .and_then(|s| s.topics.iter().find(|t| t.id == topic))
            .map_or_else(|| topic.to_string(), |t| t.label.clone())
    }

    /// A duration in seconds, e.g. "45 s", "3 min", "2 h".
    pub fn duration(&self, seconds: &i64) -> String {
        match *seconds {
            s if s < 60 => self.t1("helpline-console-seconds", &s.to_string()),
            s if s < 3600 => self.t1("helpline-console-minutes", &(s / 60).to_string()),
            s => self.t1("helpline-console-hours", &(s / 3600).to_string()),
        }
    }

    /// "5 min", "2 h", in the helper's language.
    pub fn since(&self, then_ms: &i64) -> String {
        let minutes = ((self.now - *then_ms) / 60_000).max(0);
        if minutes < 60 {
            self.t1("helpline-console-minutes", &minutes.to_string())
        } else {
            self.t1("helpline-console-hours", &(minutes / 60).to_string())
        }
    }
}
