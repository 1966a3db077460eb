//! Console actions (POST), each its own typed route: sign-in with a link, sign-out,
//! presence, taking the next request, declining an offer, settings, and the operations
//! on a conversation. Every form but sign-in is a [`ConsoleForm`] (same origin, a
//! session, its CSRF token). A form answers with a redirect back (works without
//! script); the console script asks for JSON instead.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Ui;
use super::guard::{ConsoleForm, NoFields, cross_site};
use super::pages::refused_page;
use super::render::error_page;
use crate::conversations::helper_ops::{self, CloseInput, HelperMessageInput, RedirectInput, TransferInput};
use crate::conversations::offers;
use crate::domain::helper::parse_capacity;
use crate::domain::{Conversation, ConversationId, MailAlerts, Outcome, PresenceStatus};
use crate::error::{AppError, AppResult};
use crate::helpers::signin::{self, ConsoleSession};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    token: String,
}

/// Uses the link up and starts a fresh session (a new random id, never one the browser
/// brought along).
pub async fn redeem_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LinkForm>,
) -> Response {
    if !signin::same_origin(&headers, state.config.public_url.as_deref()) {
        return error_page(&state, &headers, &cross_site(), None);
    }
    match signin::redeem_link(&state.store, &state.config.console, &form.token, state.now_ms()).await {
        Ok(Ok((cookie_value, helper))) => {
            check_eligibility(&state, &helper).await;
            (
                StatusCode::SEE_OTHER,
                [(SET_COOKIE, signin::cookie(&state.config.console, &cookie_value))],
                Redirect::to("/console"),
            )
                .into_response()
        }
        Ok(Err(refused)) => {
            refused_page(Ui::of(&state, &headers, None), &refused, state.config.console.link_minutes)
        }
        Err(e) => error_page(&state, &headers, &AppError::from(e), None),
    }
}

/// Signing in is when a helper's eligibility is checked first: a helper blocked on the
/// wiki since the last check does not see the queue for a moment.
pub async fn check_eligibility(state: &AppState, helper: &crate::domain::HelperId) {
    let checked = match crate::helpers::by_id(&state.store, helper).await {
        Ok(Some(helper)) => crate::eligibility::recheck_helper(state, &helper).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e.into()),
    };
    if let Err(error) = checked {
        tracing::warn!(%helper, %error, "eligibility not checked at sign-in");
    }
}

pub async fn signout(State(state): State<AppState>, action: ConsoleForm<NoFields>) -> Response {
    match signin::end(&state.store, &action.session, state.now_ms()).await {
        Ok(()) => (
            StatusCode::SEE_OTHER,
            [(SET_COOKIE, signin::removal_cookie(&state.config.console))],
            Redirect::to("/console/signin"),
        )
            .into_response(),
        Err(error) => action.reply.done(&state, Err(error.into()), "/console"),
    }
}

#[derive(Deserialize)]
pub struct PresenceForm {
    status: String,
}

pub async fn presence(State(state): State<AppState>, action: ConsoleForm<PresenceForm>) -> Response {
    let result = async {
        let status = PresenceStatus::parse(&action.form.status)
            .ok_or_else(|| AppError::bad_request("invalid_status", "Status is available or away."))?;
        crate::helpers::set_presence(&state, &action.session.helper.id, status).await?;
        Ok(())
    }
    .await;
    action.reply.done(&state, result, "/console")
}

/// Claims the request that has waited longest in the helper's queues and languages
/// (urgent first) and opens it.
pub async fn take_next(State(state): State<AppState>, action: ConsoleForm<NoFields>) -> Response {
    match helper_ops::take_next(&state, &action.session.helper).await {
        Ok(id) => action.reply.done(&state, Ok(()), &format!("/console/conversations/{id}")),
        Err(error) => action.reply.done(&state, Err(error), "/console"),
    }
}

/// "Not now" to an offered request: the next helper gets it.
pub async fn decline_offer(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<NoFields>,
) -> Response {
    let result = offers::decline(&state, &action.session.helper, &id).await;
    action.reply.done(&state, result, "/console")
}

#[derive(Deserialize)]
pub struct SettingsForm {
    shown_as: String,
    capacity: Option<String>,
    /// `off`, `waiting` or `digest`; absent where the server sends no mail.
    alerts: Option<String>,
}

/// How requesters see this helper (name or team alias), and how many conversations
/// they take at once.
pub async fn settings(State(state): State<AppState>, action: ConsoleForm<SettingsForm>) -> Response {
    let result = async {
        let form = &action.form;
        let helper = &action.session.helper;
        let use_alias = match form.shown_as.as_str() {
            "alias" => true,
            "name" => false,
            _ => return Err(AppError::bad_request("invalid_choice", "Choose name or alias.")),
        };
        let capacity = match form.capacity.as_deref().map(str::trim) {
            None | Some("") => helper.capacity,
            Some(text) => parse_capacity(text)?,
        };
        let alerts =
            match form.alerts.as_deref() {
                None => None,
                Some(text) => Some(MailAlerts::parse(text).ok_or_else(|| {
                    AppError::bad_request("invalid_choice", "Choose off, waiting or digest.")
                })?),
            };
        crate::helpers::set_preferences(&state, &helper.id, use_alias, capacity).await?;
        if let Some(alerts) = alerts {
            crate::helpers::alerts::choose(&state, &helper.id, alerts).await?;
        }
        Ok(())
    }
    .await;
    action.reply.done(&state, result, "/console/settings")
}

pub(super) fn page_of(id: &ConversationId) -> String {
    format!("/console/conversations/{id}")
}

/// The conversation of the form's path, if it is in one of the helper's queues.
async fn the_conversation(
    state: &AppState,
    id: &ConversationId,
    session: &ConsoleSession,
) -> AppResult<Conversation> {
    helper_ops::authorize(state, &session.helper, id).await
}

pub async fn claim(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<NoFields>,
) -> Response {
    let helper = &action.session.helper;
    let result = async {
        let c = the_conversation(&state, &id, &action.session).await?;
        helper_ops::claim(&state, helper, &c).await.map(drop)
    }
    .await;
    action.reply.done(&state, result, &page_of(&id))
}

/// The owner gives it back to the queue, and goes back to the dashboard.
pub async fn release(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<NoFields>,
) -> Response {
    let helper = &action.session.helper;
    let result = async {
        let c = the_conversation(&state, &id, &action.session).await?;
        helper_ops::release(&state, helper, &c).await.map(drop)
    }
    .await;
    let back = if result.is_ok() { "/console".to_string() } else { page_of(&id) };
    action.reply.done(&state, result, &back)
}

#[derive(Deserialize)]
pub struct MessageForm {
    text: Option<String>,
    client_id: Option<String>,
}

async fn post(
    state: &AppState,
    id: &ConversationId,
    action: &ConsoleForm<MessageForm>,
    internal: bool,
) -> Response {
    let input = HelperMessageInput {
        client_id: action.form.client_id.clone().unwrap_or_else(crate::secrets::new_id),
        text: action.form.text.clone().unwrap_or_default(),
        internal,
    };
    let helper = &action.session.helper;
    let result = async {
        let c = the_conversation(state, id, &action.session).await?;
        helper_ops::post(state, helper, &c, &input).await.map(drop)
    }
    .await;
    action.reply.done(state, result, &page_of(id))
}

/// An answer to the requester (owner only).
pub async fn reply(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<MessageForm>,
) -> Response {
    post(&state, &id, &action, false).await
}

/// An internal note: helpers only, never the requester.
pub async fn note(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<MessageForm>,
) -> Response {
    post(&state, &id, &action, true).await
}

#[derive(Deserialize)]
pub struct TransferForm {
    to_helper: Option<String>,
    to_queue: Option<String>,
}

pub async fn transfer(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<TransferForm>,
) -> Response {
    let input = TransferInput {
        to_helper: action.form.to_helper.clone().filter(|s| !s.is_empty()),
        to_queue: action.form.to_queue.clone().filter(|s| !s.is_empty()).map(Into::into),
    };
    let helper = &action.session.helper;
    let result = async {
        let c = the_conversation(&state, &id, &action.session).await?;
        helper_ops::transfer(&state, helper, &c, &input).await.map(drop)
    }
    .await;
    action.reply.done(&state, result, &page_of(&id))
}

#[derive(Deserialize)]
pub struct RedirectForm {
    team: Option<String>,
}

pub async fn redirect(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<RedirectForm>,
) -> Response {
    let input = RedirectInput { team: action.form.team.clone().unwrap_or_default() };
    let helper = &action.session.helper;
    let result = async {
        let c = the_conversation(&state, &id, &action.session).await?;
        helper_ops::redirect(&state, helper, &c, &input).await.map(drop)
    }
    .await;
    action.reply.done(&state, result, &page_of(&id))
}

#[derive(Deserialize)]
pub struct BlockForm {
    hours: Option<String>,
}

pub async fn block(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<BlockForm>,
) -> Response {
    let hours = action.form.hours.as_deref().and_then(|h| h.trim().parse().ok()).unwrap_or(0);
    let helper = &action.session.helper;
    let result = async {
        let c = the_conversation(&state, &id, &action.session).await?;
        crate::blocks::block(&state, helper, &c, hours).await
    }
    .await;
    action.reply.done(&state, result, &page_of(&id))
}

pub async fn unblock(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<NoFields>,
) -> Response {
    let helper = &action.session.helper;
    let result = async {
        let c = the_conversation(&state, &id, &action.session).await?;
        crate::blocks::lift(&state, helper, &c).await
    }
    .await;
    action.reply.done(&state, result, &page_of(&id))
}

#[derive(Deserialize)]
pub struct CloseForm {
    outcome: Option<String>,
}

pub async fn close(
    State(state): State<AppState>,
    Path(id): Path<ConversationId>,
    action: ConsoleForm<CloseForm>,
) -> Response {
    let outcome = action.form.outcome.as_deref().and_then(Outcome::parse);
    let helper = &action.session.helper;
    let result = async {
        let c = the_conversation(&state, &id, &action.session).await?;
        let outcome =
            outcome.ok_or_else(|| AppError::bad_request("invalid_outcome", "Choose an outcome."))?;
        helper_ops::close(&state, helper, &c, &CloseInput { outcome }).await.map(drop)
    }
    .await;
    action.reply.done(&state, result, &page_of(&id))
}
