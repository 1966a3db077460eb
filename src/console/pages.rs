//! Console pages that stand alone: sign-in, the link's "continue as", a refused link,
//! the helper's own settings.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Ui;
use super::guard::{MaybeSignedIn, SignedIn};
use super::render::{LangQuery, MessagePage, error_page, render};
use crate::error::AppError;
use crate::helpers::signin::{self, LinkRefused};
use crate::state::AppState;

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
    MaybeSignedIn(session): MaybeSignedIn,
    Query(q): Query<LangQuery>,
) -> Response {
    if session.is_some() {
        return Redirect::to("/console").into_response();
    }
    let page = SigninPage {
        ui: Ui::of(&state, &headers, q.uselang.as_deref()),
        link_minutes: state.config.console.link_minutes.to_string(),
        oauth: state.config.console.oauth.is_some(),
        by_email: state.mailer.is_some(),
    };
    render(&page, StatusCode::OK)
}

/// `GET /console/session`: whether this browser is signed in — `204`, or `401` — for
/// the console script, which asks when its socket closes (cheaper than any page).
pub async fn session(MaybeSignedIn(session): MaybeSignedIn) -> StatusCode {
    if session.is_some() { StatusCode::NO_CONTENT } else { StatusCode::UNAUTHORIZED }
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
    let ui = Ui::of(&state, &headers, None);
    match signin::peek_link(&state.store, &q.token, state.now_ms()).await {
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

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage<'a> {
    ui: Ui<'a>,
    /// The mail alert chosen (`off`, `waiting`, `digest`) and whether the helper has an
    /// address; `None` where the server sends no mail.
    alerts: Option<(&'static str, bool)>,
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
    let ui = Ui::signed_in(&state, &headers, &session, q.uselang.as_deref());
    let helper = session.helper;
    let alerts = match crate::helpers::alerts::choice(&state, &helper.id).await {
        Ok(alerts) => alerts.map(|(choice, has_address)| (choice.as_str(), has_address)),
        Err(e) => return error_page(&state, &headers, &AppError::from(e), None),
    };
    let page = SettingsPage {
        ui,
        alerts,
        use_alias: helper.alias.is_some(),
        alias: helper.alias,
        name: helper.name,
        capacity: helper.capacity,
    };
    render(&page, StatusCode::OK)
}
