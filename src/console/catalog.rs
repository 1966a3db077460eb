//! Coordinator pages for a site's canned replies and guides and its other teams
//! (`sites::catalog` holds the rules). Open to the coordinators of the site's queue;
//! every change is a form with the CSRF token, and says who made it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Ui;
use super::pages::{error_page, page_ui, render};
use super::session::{MaybeSession, SignedIn};
use crate::app::AppState;
use crate::config::{CannedReply, OtherTeam, SiteConfig};
use crate::error::{AppError, AppResult};
use crate::helpers::Helper;
use crate::sites::catalog::{self, Entry};

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

/// The sites whose queue `helper` coordinates.
fn editable_sites<'c>(state: &'c AppState, helper: &Helper) -> Vec<&'c SiteConfig> {
    let queues = helper.coordinated_queues();
    state.config.sites.iter().filter(|s| queues.contains(&s.queue)).collect()
}

fn editable_site<'c>(state: &'c AppState, helper: &Helper, site: &str) -> AppResult<&'c SiteConfig> {
    editable_sites(state, helper)
        .into_iter()
        .find(|s| s.id == site)
        .ok_or_else(|| AppError::Forbidden("You do not coordinate the queue of that site.".into()))
}

pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
) -> Response {
    let ui = page_ui(&state, &headers, &session, None);
    let sites: Vec<(String, String)> =
        editable_sites(&state, &session.helper).into_iter().map(|s| (s.id.clone(), s.name.clone())).collect();
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
    Path(site): Path<String>,
) -> Response {
    let ui = page_ui(&state, &headers, &session, None);
    let loaded = async {
        let site = editable_site(&state, &session.helper, &site)?;
        let replies = catalog::all_replies(&state.store, &state.config, &site.id).await?;
        let teams = catalog::all_teams(&state.store, &state.config, &site.id).await?;
        Ok::<_, AppError>(SitePage {
            site_id: site.id.clone(),
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
    csrf: Option<String>,
    id: Option<String>,
    lang: Option<String>,
    title: Option<String>,
    text: Option<String>,
    link: Option<String>,
    email: Option<String>,
}

/// An empty optional field means "none".
fn optional(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(maybe): MaybeSession,
    Path((site, action)): Path<(String, String)>,
    Form(form): Form<EntryForm>,
) -> Response {
    let back = format!("/console/sites/{site}");
    let result = async {
        let session = super::actions::checked(&state, &headers, maybe, form.csrf.as_deref())?;
        let site = editable_site(&state, &session.helper, &site)?;
        let me = &session.helper.id;
        let id = form.id.clone().unwrap_or_default().trim().to_string();
        let lang = || crate::conversations::text::language(form.lang.as_deref().unwrap_or(""));
        let (store, config) = (&state.store, &state.config);
        match action.as_str() {
            "reply-save" => {
                let reply = CannedReply {
                    id,
                    lang: lang()?,
                    title: form.title.clone().unwrap_or_default(),
                    text: form.text.clone().unwrap_or_default(),
                    link: optional(form.link.as_ref()),
                };
                catalog::save_reply(store, &site.id, &reply, me).await
            }
            "reply-remove" => catalog::remove_reply(store, config, &site.id, &id, &lang()?, me).await,
            "reply-restore" => catalog::restore_reply(store, &site.id, &id, &lang()?).await,
            "team-save" => {
                let team = OtherTeam {
                    id,
                    label: form.title.clone().unwrap_or_default(),
                    description: form.text.clone().unwrap_or_default(),
                    link: optional(form.link.as_ref()),
                    email: optional(form.email.as_ref()),
                };
                catalog::save_team(store, &site.id, &team, me).await
            }
            "team-remove" => catalog::remove_team(store, config, &site.id, &id, me).await,
            "team-restore" => catalog::restore_team(store, &site.id, &id).await,
            _ => Err(AppError::NotFound("No such action.")),
        }
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => error_page(&state, &headers, &e, Some(back)),
    }
}
