//! Coordinator pages for a site's canned replies and guides and its other teams
//! (`sites::catalog` holds the rules). Open to the coordinators of the site's queue;
//! every change is a console form, and says who made it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Ui;
use super::guard::{ConsoleForm, SignedIn};
use super::render::{error_page, render};
use crate::config::{CannedReply, OtherTeam, SiteConfig};
use crate::domain::{Helper, Language, SiteId};
use crate::error::{AppError, AppResult};
use crate::sites::catalog::{self, Entry};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "console/sites.html")]
struct SitesPage<'a> {
    ui: Ui<'a>,
    sites: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/site.html")]
struct SitePage<'a> {
    ui: Ui<'a>,
    site_id: String,
    site_name: String,
    site_lang: String,
    replies: Vec<Entry<CannedReply>>,
    teams: Vec<Entry<OtherTeam>>,
}

fn editable_site<'c>(state: &'c AppState, helper: &Helper, site: &SiteId) -> AppResult<&'c SiteConfig> {
    catalog::editable_sites(&state.config, helper)
        .into_iter()
        .find(|s| s.id == *site)
        .ok_or_else(|| AppError::Forbidden("You do not coordinate the queue of that site.".into()))
}

pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
) -> Response {
    let ui = Ui::signed_in(&state, &headers, &session, None);
    let sites: Vec<(String, String)> = catalog::editable_sites(&state.config, &session.helper)
        .into_iter()
        .map(|s| (s.id.to_string(), s.name.clone()))
        .collect();
    match sites.as_slice() {
        [] => error_page(
            &state,
            &headers,
            &AppError::Forbidden("These pages are for the coordinators of a queue.".into()),
            Some("/console".into()),
        ),
        [(only, _)] => Redirect::to(&format!("/console/sites/{only}")).into_response(),
        _ => render(&SitesPage { ui, sites }, StatusCode::OK),
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Path(site): Path<SiteId>,
) -> Response {
    let ui = Ui::signed_in(&state, &headers, &session, None);
    let loaded = async {
        let site = editable_site(&state, &session.helper, &site)?;
        let replies = catalog::all_replies(&state, &site.id).await?;
        let teams = catalog::all_teams(&state, &site.id).await?;
        Ok::<_, AppError>(SitePage {
            site_id: site.id.to_string(),
            site_name: site.name.clone(),
            site_lang: site.language.clone(),
            replies,
            teams,
            ui,
        })
    }
    .await;
    match loaded {
        Ok(page) => render(&page, StatusCode::OK),
        Err(e) => error_page(&state, &headers, &e, Some("/console".into())),
    }
}

#[derive(Deserialize)]
pub struct EntryForm {
    id: Option<String>,
    lang: Option<String>,
    title: Option<String>,
    text: Option<String>,
    link: Option<String>,
    email: Option<String>,
}

impl EntryForm {
    fn id(&self) -> String {
        self.id.clone().unwrap_or_default().trim().to_string()
    }

    fn lang(&self) -> AppResult<String> {
        Ok(Language::parse(self.lang.as_deref().unwrap_or(""))?.into_string())
    }

    fn reply(&self) -> AppResult<CannedReply> {
        Ok(CannedReply {
            id: self.id(),
            lang: self.lang()?,
            title: self.title.clone().unwrap_or_default(),
            text: self.text.clone().unwrap_or_default(),
            link: optional(self.link.as_ref()),
        })
    }

    fn team(&self) -> OtherTeam {
        OtherTeam {
            id: self.id(),
            label: self.title.clone().unwrap_or_default(),
            description: self.text.clone().unwrap_or_default(),
            link: optional(self.link.as_ref()),
            email: optional(self.email.as_ref()),
        }
    }
}

/// An empty optional field means "none".
fn optional(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Runs a change on a site the helper may edit, then back to its page.
async fn change<F, Fut>(state: &AppState, site: &SiteId, action: &ConsoleForm<EntryForm>, run: F) -> Response
where
    F: FnOnce(SiteId) -> Fut,
    Fut: Future<Output = AppResult<()>>,
{
    let back = format!("/console/sites/{site}");
    let result = match editable_site(state, &action.session.helper, site) {
        Ok(site) => run(site.id.clone()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => error_page(state, action.reply.headers(), &e, Some(back)),
    }
}

pub async fn reply_save(
    State(state): State<AppState>,
    Path(site): Path<SiteId>,
    action: ConsoleForm<EntryForm>,
) -> Response {
    let (state, form) = (&state, &action.form);
    let me = &action.session.helper;
    change(state, &site, &action, |site| async move {
        catalog::save_reply(state, &site, &form.reply()?, me).await
    })
    .await
}

pub async fn reply_remove(
    State(state): State<AppState>,
    Path(site): Path<SiteId>,
    action: ConsoleForm<EntryForm>,
) -> Response {
    let (state, form) = (&state, &action.form);
    let me = &action.session.helper;
    change(state, &site, &action, |site| async move {
        catalog::remove_reply(state, &site, &form.id(), &form.lang()?, me).await
    })
    .await
}

pub async fn reply_restore(
    State(state): State<AppState>,
    Path(site): Path<SiteId>,
    action: ConsoleForm<EntryForm>,
) -> Response {
    let (state, form) = (&state, &action.form);
    change(state, &site, &action, |site| async move {
        catalog::restore_reply(state, &site, &form.id(), &form.lang()?).await
    })
    .await
}

pub async fn team_save(
    State(state): State<AppState>,
    Path(site): Path<SiteId>,
    action: ConsoleForm<EntryForm>,
) -> Response {
    let (state, form) = (&state, &action.form);
    let me = &action.session.helper;
    change(
        state,
        &site,
        &action,
        |site| async move { catalog::save_team(state, &site, &form.team(), me).await },
    )
    .await
}

pub async fn team_remove(
    State(state): State<AppState>,
    Path(site): Path<SiteId>,
    action: ConsoleForm<EntryForm>,
) -> Response {
    let (state, form) = (&state, &action.form);
    let me = &action.session.helper;
    change(
        state,
        &site,
        &action,
        |site| async move { catalog::remove_team(state, &site, &form.id(), me).await },
    )
    .await
}

pub async fn team_restore(
    State(state): State<AppState>,
    Path(site): Path<SiteId>,
    action: ConsoleForm<EntryForm>,
) -> Response {
    let (state, form) = (&state, &action.form);
    change(state, &site, &action, |site| async move { catalog::restore_team(state, &site, &form.id()).await })
        .await
}
