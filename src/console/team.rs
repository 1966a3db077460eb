//! Coordinator pages: the members of the queues one coordinates (invite with a one-time
//! sign-in link, make coordinator, take out of the queue) and the blocks in force there
//! (lift early). Every change is a console form, refused for queues the signed-in helper
//! does not coordinate.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Ui;
use super::guard::{ConsoleForm, SignedIn};
use super::render::{error_page, render};
use crate::domain::helper::validate_name;
use crate::domain::time::rfc3339;
use crate::domain::{Email, Helper, QueueId, QueueRole};
use crate::error::{AppError, AppResult};
use crate::helpers::{self, signin};
use crate::state::AppState;
use crate::store::eligibility::Application;

pub struct Member {
    pub name: String,
    pub queue: QueueId,
    pub role: String,
    pub languages: String,
    pub online: bool,
    /// Suspended from the queue by its eligibility rules: why.
    pub suspended: Option<String>,
}

pub struct ActiveBlock {
    pub id: String,
    pub kind: String,
    pub conversation: Option<String>,
    pub queue: QueueId,
    pub until: String,
    pub by: Option<String>,
}

#[derive(Template)]
#[template(path = "console/team.html")]
struct TeamPage<'a> {
    ui: Ui<'a>,
    queues: Vec<(QueueId, String)>,
    members: Vec<Member>,
    blocks: Vec<ActiveBlock>,
    /// After an invitation: who, and their one-time sign-in link.
    invited: Option<(String, String)>,
    /// Applications to join, waiting ones first.
    applications: Vec<Application>,
}

fn coordinated(helper: &Helper) -> AppResult<Vec<QueueId>> {
    let queues = helper.coordinated_queues();
    if queues.is_empty() {
        return Err(AppError::Forbidden("These pages are for the coordinators of a queue.".into()));
    }
    Ok(queues)
}

async fn load(state: &AppState, queues: &[QueueId]) -> AppResult<(Vec<Member>, Vec<ActiveBlock>)> {
    let mut members = Vec::new();
    for h in helpers::list(&state.store).await? {
        for m in h.queues.iter().filter(|m| queues.contains(&m.queue)) {
            members.push(Member {
                name: h.name.clone(),
                queue: m.queue.clone(),
                role: m.role.as_str().to_string(),
                languages: h.languages.join(", "),
                online: state.presence.is_online(&h.id),
                suspended: None,
            });
        }
        for s in h.suspended.iter().filter(|s| queues.contains(&s.queue)) {
            members.push(Member {
                name: h.name.clone(),
                queue: s.queue.clone(),
                role: "—".into(),
                languages: h.languages.join(", "),
                online: state.presence.is_online(&h.id),
                suspended: Some(s.reason.clone()),
            });
        }
    }
    let blocks = crate::blocks::in_force(state, queues)
        .await?
        .into_iter()
        .map(|b| ActiveBlock {
            id: b.id,
            kind: b.kind,
            conversation: b.conversation.map(|c| c.to_string()),
            queue: b.queue,
            until: rfc3339(b.until),
            by: b.by,
        })
        .collect();
    Ok((members, blocks))
}

async fn page(
    state: &AppState,
    headers: &HeaderMap,
    ui: Ui<'_>,
    helper: &Helper,
    invited: Option<(String, String)>,
) -> Response {
    let loaded = async {
        let queues = coordinated(helper)?;
        let (members, blocks) = load(state, &queues).await?;
        let applications = crate::eligibility::applications::of_queues(state, &queues).await?;
        Ok::<_, AppError>((queues, members, blocks, applications))
    }
    .await;
    match loaded {
        Ok((queues, members, blocks, applications)) => {
            let queues = queues.into_iter().map(|id| (id.clone(), state.config.queue_name(&id))).collect();
            render(&TeamPage { ui, queues, members, blocks, invited, applications }, StatusCode::OK)
        }
        Err(e) => error_page(state, headers, &e, Some("/console".into())),
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
) -> Response {
    let ui = Ui::signed_in(&state, &headers, &session, None);
    page(&state, &headers, ui, &session.helper, None).await
}

#[derive(Deserialize)]
pub struct MemberForm {
    queue: Option<String>,
    name: Option<String>,
    languages: Option<String>,
    role: Option<String>,
    email: Option<String>,
}

/// The queue the form names, if the signed-in helper coordinates it.
fn their_queue(me: &Helper, form: &MemberForm) -> AppResult<QueueId> {
    coordinated(me)?;
    let queue = form.queue.clone().unwrap_or_default();
    if !me.coordinates(queue.as_str()) {
        return Err(AppError::Forbidden("You do not coordinate that queue.".into()));
    }
    Ok(queue.into())
}

fn back(state: &AppState, reply: &super::guard::Reply, result: AppResult<()>) -> Response {
    match result {
        Ok(()) => Redirect::to("/console/team").into_response(),
        Err(e) => error_page(state, reply.headers(), &e, Some("/console/team".into())),
    }
}

/// Adds a member (a new helper, or one of another queue) and shows their one-time
/// sign-in link.
pub async fn invite(State(state): State<AppState>, action: ConsoleForm<MemberForm>) -> Response {
    let me = &action.session.helper;
    let invited = async {
        let queue = their_queue(me, &action.form)?;
        let name = validate_name(action.form.name.as_deref().unwrap_or(""))?;
        // Checked before anyone is added, so a typo adds nobody.
        let email = action
            .form
            .email
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(Email::parse)
            .transpose()?;
        let helper = match crate::helpers::named(&state.store, name).await? {
            Some(helper) => {
                helpers::join_queue(&state.store, &helper.id, &queue).await?;
                helper
            }
            None => {
                let languages = helpers::parse_languages(action.form.languages.as_deref().unwrap_or(""))?;
                helpers::add(&state.store, state.now_ms(), name, std::slice::from_ref(&queue), &languages)
                    .await?
            }
        };
        if let Some(address) = &email {
            helpers::set_email(&state.store, &state.secrets, &helper.id, Some(address)).await?;
        }
        let token = signin::new_link(&state.store, &state.config.console, &helper.id, state.now_ms()).await?;
        Ok::<_, AppError>((helper.name, signin::link_url(&state.config.public_url(), &token)))
    }
    .await;
    let ui = Ui::signed_in(&state, action.reply.headers(), &action.session, None);
    match invited {
        Ok(invited) => page(&state, action.reply.headers(), ui, me, Some(invited)).await,
        Err(e) => error_page(&state, action.reply.headers(), &e, Some("/console/team".into())),
    }
}

/// A member of one of my queues, never myself.
async fn other_member(
    state: &AppState,
    me: &Helper,
    form: &MemberForm,
    queue: &QueueId,
) -> AppResult<Helper> {
    let name = validate_name(form.name.as_deref().unwrap_or(""))?;
    let helper = crate::helpers::named(&state.store, name)
        .await?
        .ok_or(AppError::NotFound("No helper of that name."))?;
    if !helper.is_member(queue) {
        return Err(AppError::NotFound("No helper of that name in that queue."));
    }
    if helper.id == me.id {
        return Err(AppError::bad_request("yourself", "Ask another coordinator to change your own place."));
    }
    Ok(helper)
}

/// Takes a member out of a queue; their open conversations there go back to it, the
/// requesters told, through the conversations' own path.
pub async fn remove(State(state): State<AppState>, action: ConsoleForm<MemberForm>) -> Response {
    let me = &action.session.helper;
    let result = async {
        let queue = their_queue(me, &action.form)?;
        let helper = other_member(&state, me, &action.form, &queue).await?;
        crate::conversations::routing::take_out_of_queue(&state, &helper.id, &queue, &me.id).await
    }
    .await;
    back(&state, &action.reply, result)
}

/// Makes a member coordinator, or a plain helper again.
pub async fn role(State(state): State<AppState>, action: ConsoleForm<MemberForm>) -> Response {
    let me = &action.session.helper;
    let result = async {
        let queue = their_queue(me, &action.form)?;
        let helper = other_member(&state, me, &action.form, &queue).await?;
        let role = QueueRole::parse(action.form.role.as_deref().unwrap_or(""))
            .ok_or_else(|| AppError::bad_request("invalid_role", "a role is helper or coordinator"))?;
        helpers::set_role(&state.store, &helper.name, &queue, role).await?;
        Ok(())
    }
    .await;
    back(&state, &action.reply, result)
}

#[derive(Deserialize)]
pub struct LiftForm {
    block: Option<String>,
}

/// Lifts a block in force in one of my queues, early.
pub async fn lift(State(state): State<AppState>, action: ConsoleForm<LiftForm>) -> Response {
    let result = async {
        let queues = coordinated(&action.session.helper)?;
        crate::blocks::lift_one(&state, action.form.block.as_deref().unwrap_or(""), &queues).await
    }
    .await;
    back(&state, &action.reply, result)
}
