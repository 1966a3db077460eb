//! Coordinator pages: the members of the queues one coordinates (invite with a one-time
//! sign-in link, make coordinator, take out of the queue) and the blocks in force there
//! (lift early). Every change is a form with the CSRF token, refused for queues the
//! signed-in helper does not coordinate.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::Row;

use super::Ui;
use super::pages::{error_page, page_ui, render};
use super::session::{self, SignedIn};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::helpers::{self, Helper};
use crate::store::now_ms;

pub struct Member {
    pub name: String,
    pub queue: String,
    pub role: String,
    pub languages: String,
    pub online: bool,
}

pub struct ActiveBlock {
    pub id: String,
    pub kind: String,
    pub conversation: Option<String>,
    pub queue: String,
    pub until: String,
    pub by: Option<String>,
}

#[derive(Template)]
#[template(path = "console/team.html")]
struct TeamPage<'a> {
    ui: Ui<'a>,
    queues: Vec<(String, String)>,
    members: Vec<Member>,
    blocks: Vec<ActiveBlock>,
    /// After an invitation: who, and their one-time sign-in link.
    invited: Option<(String, String)>,
}

fn coordinated(helper: &Helper) -> AppResult<Vec<String>> {
    let queues = helper.coordinated_queues();
    if queues.is_empty() {
        return Err(AppError::Forbidden("These pages are for the coordinators of a queue.".into()));
    }
    Ok(queues)
}

async fn load(state: &AppState, queues: &[String]) -> AppResult<(Vec<Member>, Vec<ActiveBlock>)> {
    let mut members = Vec::new();
    for h in helpers::list(&state.store).await.map_err(|e| AppError::Internal(e.into()))? {
        for m in h.queues.iter().filter(|m| queues.contains(&m.queue)) {
            members.push(Member {
                name: h.name.clone(),
                queue: m.queue.clone(),
                role: m.role.clone(),
                languages: h.languages.join(", "),
                online: state.presence.is_online(&h.id),
            });
        }
    }
    let list = (0..queues.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT b.id, b.kind, b.conversation_id, b.queue, b.expires_at, h.name AS by_name FROM blocks b \
         LEFT JOIN helpers h ON h.id = b.helper_id \
         WHERE b.expires_at > $1 AND b.lifted_at IS NULL AND b.queue IN ({list}) ORDER BY b.expires_at"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_ms());
    for q in queues {
        query = query.bind(q);
    }
    let blocks = query
        .fetch_all(&state.store.read)
        .await?
        .iter()
        .map(|r| {
            Ok(ActiveBlock {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                conversation: r.try_get("conversation_id")?,
                queue: r.try_get("queue")?,
                until: crate::conversations::model::rfc3339(r.try_get("expires_at")?),
                by: r.try_get("by_name")?,
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    Ok((members, blocks))
}

async fn page(
    state: &AppState,
    headers: &HeaderMap,
    ui: Ui<'_>,
    helper: &Helper,
    invited: Option<(String, String)>,
) -> Response {
    let queues = match coordinated(helper) {
        Ok(q) => q,
        Err(e) => return error_page(state, headers, &e, Some("/console".into())),
    };
    match load(state, &queues).await {
        Ok((members, blocks)) => {
            let queues = queues
                .into_iter()
                .map(|id| {
                    let name = state.config.queue(&id).map_or_else(|| id.clone(), |q| q.name.clone());
                    (id, name)
                })
                .collect();
            render(&TeamPage { ui, queues, members, blocks, invited }, StatusCode::OK)
        }
        Err(e) => error_page(state, headers, &e, Some("/console".into())),
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
) -> Response {
    let ui = page_ui(&state, &headers, &session, None);
    page(&state, &headers, ui, &session.helper, None).await
}

#[derive(Deserialize)]
pub struct TeamForm {
    csrf: Option<String>,
    queue: Option<String>,
    name: Option<String>,
    languages: Option<String>,
    role: Option<String>,
    block: Option<String>,
    email: Option<String>,
}

pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    Path(action): Path<String>,
    Form(form): Form<TeamForm>,
) -> Response {
    let ui = page_ui(&state, &headers, &session, None);
    let result = async {
        super::actions::checked(&state, &headers, Some(session.clone()), form.csrf.as_deref())?;
        let queues = coordinated(&session.helper)?;
        run(&state, &session.helper, &queues, &action, &form).await
    }
    .await;
    match result {
        Ok(Some(invited)) => page(&state, &headers, ui, &session.helper, Some(invited)).await,
        Ok(None) => Redirect::to("/console/team").into_response(),
        Err(e) => error_page(&state, &headers, &e, Some("/console/team".into())),
    }
}

async fn run(
    state: &AppState,
    me: &Helper,
    queues: &[String],
    action: &str,
    form: &TeamForm,
) -> AppResult<Option<(String, String)>> {
    if action == "lift" {
        let id = form.block.clone().unwrap_or_default();
        let list = (0..queues.len()).map(|i| format!("${}", i + 3)).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "UPDATE blocks SET lifted_at = $1 WHERE id = $2 AND lifted_at IS NULL AND queue IN ({list})"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_ms()).bind(id);
        for q in queues {
            query = query.bind(q);
        }
        if query.execute(&state.store.write).await?.rows_affected() == 0 {
            return Err(AppError::NotFound("No such block in force in your queues."));
        }
        return Ok(None);
    }
    let queue = form.queue.clone().unwrap_or_default();
    if !queues.contains(&queue) {
        return Err(AppError::Forbidden("You do not coordinate that queue.".into()));
    }
    let name = helpers::validate_name(form.name.as_deref().unwrap_or(""))
        .map_err(|e| AppError::bad_request("invalid_name", e.to_string()))?;
    let existing =
        helpers::find_by_name(&state.store, name).await.map_err(|e| AppError::Internal(e.into()))?;
    match action {
        "invite" => {
            // Checked before anyone is added, so a typo adds nobody.
            let email = form
                .email
                .as_deref()
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(crate::conversations::text::email)
                .transpose()?;
            let helper = match existing {
                Some(helper) => {
                    helpers::join_queue(&state.store, &helper.id, &queue).await?;
                    helper
                }
                None => {
                    let languages = form
                        .languages
                        .as_deref()
                        .unwrap_or("")
                        .split(',')
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(crate::conversations::text::language)
                        .collect::<AppResult<Vec<_>>>()?;
                    helpers::add(&state.store, name, std::slice::from_ref(&queue), &languages)
                        .await
                        .map_err(|e| AppError::bad_request("invalid_helper", e.to_string()))?
                }
            };
            if let Some(address) = email.as_deref() {
                helpers::set_email(&state.store, &state.secrets, &helper.id, Some(address))
                    .await
                    .map_err(|e| AppError::bad_request("invalid_email", e.to_string()))?;
            }
            let token =
                session::new_link(&state.store, &helper.id, state.config.console.link_minutes).await?;
            let link = format!("{}/console/signin/link?token={token}", state.config.public_url());
            Ok(Some((helper.name, link)))
        }
        "remove" | "role" => {
            let helper = existing.ok_or(AppError::NotFound("No helper of that name."))?;
            if !helper.is_member(&queue) {
                return Err(AppError::NotFound("No helper of that name in that queue."));
            }
            if helper.id == me.id {
                return Err(AppError::bad_request(
                    "yourself",
                    "Ask another coordinator to change your own place.",
                ));
            }
            if action == "remove" {
                // Through the conversations' own path: requesters are told, dashboards hear it.
                crate::conversations::routing::return_owned(
                    state,
                    &helper.id,
                    Some(&queue),
                    Some(&me.id),
                    "helper left the queue",
                )
                .await?;
                helpers::leave_queue(&state.store, &helper.id, &queue, &me.id).await?;
            } else {
                let role = form.role.as_deref().unwrap_or("");
                helpers::set_role(&state.store, &helper.name, &queue, role)
                    .await
                    .map_err(|e| AppError::bad_request("invalid_role", e.to_string()))?;
            }
            Ok(None)
        }
        _ => Err(AppError::NotFound("No such action.")),
    }
}
