//! Console actions (POST): sign-in with a link, sign-out, presence, and the operations on
//! a conversation. Every one checks the origin; every one but sign-in checks the session's
//! CSRF token. A form answers with a redirect back (works without script); the console
//! script asks for JSON instead (`Accept: application/json`).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::header::{ACCEPT, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Ui;
use super::pages::{error_page, refused_page};
use super::session::{self, ConsoleSession, MaybeSession};
use crate::app::AppState;
use crate::conversations::helper_ops::{self, CloseInput, HelperMessageInput, RedirectInput, TransferInput};
use crate::conversations::model::Outcome;
use crate::error::{AppError, AppResult};
use crate::secrets::constant_time_eq;

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
    if !session::same_origin(&headers, state.config.public_url.as_deref()) {
        return error_page(&state, &headers, &cross_site(), None);
    }
    match session::redeem_link(&state.store, &state.config.console, &form.token).await {
        Ok(Ok(cookie_value)) => (
            StatusCode::SEE_OTHER,
            [(SET_COOKIE, session::cookie(&state.config.console, &cookie_value))],
            Redirect::to("/console"),
        )
            .into_response(),
        Ok(Err(refused)) => {
            refused_page(Ui::new(&state.i18n, &headers, None), &refused, state.config.console.link_minutes)
        }
        Err(e) => error_page(&state, &headers, &AppError::from(e), None),
    }
}

fn cross_site() -> AppError {
    AppError::Forbidden("This request came from another site.".into())
}

/// The session, if the request is same-origin and carries its CSRF token.
pub(super) fn checked(
    state: &AppState,
    headers: &HeaderMap,
    session: Option<ConsoleSession>,
    form_token: Option<&str>,
) -> AppResult<ConsoleSession> {
    if !session::same_origin(headers, state.config.public_url.as_deref()) {
        return Err(cross_site());
    }
    let session = session.ok_or(AppError::Unauthorized("not_signed_in"))?;
    let header_token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    match form_token.filter(|t| !t.is_empty()).or(header_token) {
        Some(token) if constant_time_eq(token, &session.csrf) => Ok(session),
        _ => Err(AppError::Forbidden(
            "The form is out of date (missing or wrong CSRF token). Reload the page.".into(),
        )),
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

/// The answer to an action: JSON for the script, a redirect (or an error page) for a form.
fn answer(state: &AppState, headers: &HeaderMap, result: AppResult<()>, back: &str) -> Response {
    match (result, wants_json(headers)) {
        (Ok(()), true) => axum::Json(serde_json::json!({ "ok": true })).into_response(),
        (Ok(()), false) => Redirect::to(back).into_response(),
        (Err(error), true) => error.into_response(),
        (Err(AppError::Unauthorized(_)), false) => Redirect::to("/console/signin").into_response(),
        (Err(error), false) => error_page(state, headers, &error, Some(back.to_string())),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    let result = async {
        let session = checked(&state, &headers, session, form.csrf.as_deref())?;
        session::end(&state.store, &session).await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => (
            StatusCode::SEE_OTHER,
            [(SET_COOKIE, session::removal_cookie(&state.config.console))],
            Redirect::to("/console/signin"),
        )
            .into_response(),
        Err(error) => answer(&state, &headers, Err(error), "/console"),
    }
}

#[derive(Deserialize)]
pub struct PresenceForm {
    csrf: Option<String>,
    status: String,
}

pub async fn presence(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Form(form): Form<PresenceForm>,
) -> Response {
    let result = async {
        let session = checked(&state, &headers, session, form.csrf.as_deref())?;
        let away = match form.status.as_str() {
            "away" => true,
            "available" => false,
            _ => return Err(AppError::bad_request("invalid_status", "Status is available or away.")),
        };
        crate::helpers::set_away(&state.store, &session.helper.id, away).await?;
        state.presence.set_away(&session.helper.id, away);
        Ok(())
    }
    .await;
    answer(&state, &headers, result, "/console")
}

/// Fair routing from the helper's side: claims the request that has waited longest in
/// the helper's queues and languages (urgent ones first), and opens it. If another helper
/// takes it first, the next one is tried.
pub async fn take_next(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    let result = async {
        let session = checked(&state, &headers, session, form.csrf.as_deref())?;
        let helper = &session.helper;
        if crate::helpers::open_count(&state.store, &helper.id).await? >= helper.capacity {
            return Err(AppError::conflict(
                "at_capacity",
                format!("You already have {} open conversations, your chosen capacity.", helper.capacity),
            ));
        }
        for _ in 0..5 {
            let Some(id) = next_for(&state, helper).await? else {
                return Err(AppError::NotFound("Nobody is waiting in your queues and languages."));
            };
            let c = helper_ops::authorize(&state, helper, &id).await?;
            match helper_ops::claim(&state, helper, &c).await {
                Ok(_) => return Ok(id),
                Err(AppError::Conflict { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Err(AppError::conflict("busy", "Other helpers took the waiting requests first. Try again."))
    }
    .await;
    match result {
        Ok(id) => answer(&state, &headers, Ok(()), &format!("/console/conversations/{id}")),
        Err(error) => answer(&state, &headers, Err(error), "/console"),
    }
}

/// "Not now" to an offered request: the next helper gets it.
pub async fn decline_offer(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let result = async {
        let session = checked(&state, &headers, session, form.csrf.as_deref())?;
        crate::conversations::offers::decline(&state, &session.helper, &id).await
    }
    .await;
    answer(&state, &headers, result, "/console")
}

/// The first waiting conversation (urgent first, then oldest) this helper can take.
pub async fn next_for(state: &AppState, helper: &crate::helpers::Helper) -> AppResult<Option<String>> {
    let queues = helper.queue_ids();
    let filter = crate::conversations::queries::QueueFilter {
        queues: &queues,
        lang: None,
        status: Some(crate::conversations::model::Status::Waiting),
        site: None,
        owner_id: None,
        limit: 500,
    };
    let mut conn = state.store.read.acquire().await?;
    let waiting = crate::conversations::queries::queue_listing(&mut conn, &filter).await?;
    Ok(waiting.into_iter().find(|c| helper.speaks(&c.lang)).map(|c| c.id))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    csrf: Option<String>,
    shown_as: String,
    capacity: Option<String>,
}

/// How requesters see this helper: by name or by team alias. Messages already written
/// keep the name they were written under.
pub async fn settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Form(form): Form<SettingsForm>,
) -> Response {
    let result = async {
        let session = checked(&state, &headers, session, form.csrf.as_deref())?;
        let use_alias = match form.shown_as.as_str() {
            "alias" => true,
            "name" => false,
            _ => return Err(AppError::bad_request("invalid_choice", "Choose name or alias.")),
        };
        let capacity = match form.capacity.as_deref().map(str::trim) {
            None | Some("") => session.helper.capacity,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=crate::helpers::MAX_CAPACITY).contains(n))
                .ok_or_else(|| {
                    AppError::bad_request("invalid_capacity", "Capacity is a whole number from 1 to 20.")
                })?,
        };
        crate::helpers::set_shown_as_alias(&state.store, &session.helper.id, use_alias).await?;
        crate::helpers::set_capacity(&state.store, &session.helper.id, capacity).await?;
        let mut conn = state.store.read.acquire().await?;
        if let Some(helper) = crate::helpers::find_by_id(&mut conn, &session.helper.id).await? {
            state.presence.refresh(&helper);
        }
        Ok(())
    }
    .await;
    answer(&state, &headers, result, "/console/settings")
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: Option<String>,
    text: Option<String>,
    client_id: Option<String>,
    to_helper: Option<String>,
    to_queue: Option<String>,
    team: Option<String>,
    outcome: Option<String>,
    hours: Option<String>,
}

pub async fn conversation_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = format!("/console/conversations/{id}");
    let result = run_action(&state, &headers, session, &id, &action, form).await;
    let back = if action == "release" && result.is_ok() { "/console".to_string() } else { back };
    answer(&state, &headers, result, &back)
}

async fn run_action(
    state: &AppState,
    headers: &HeaderMap,
    session: Option<ConsoleSession>,
    id: &str,
    action: &str,
    form: ActionForm,
) -> AppResult<()> {
    let session = checked(state, headers, session, form.csrf.as_deref())?;
    let helper = &session.helper;
    let c = helper_ops::authorize(state, helper, id).await?;
    let text = || form.text.clone().unwrap_or_default();
    let client_id = || form.client_id.clone().unwrap_or_else(crate::secrets::new_id);
    match action {
        "claim" => helper_ops::claim(state, helper, &c).await.map(drop),
        "release" => helper_ops::release(state, helper, &c).await.map(drop),
        "reply" | "note" => {
            let input =
                HelperMessageInput { client_id: client_id(), text: text(), internal: action == "note" };
            helper_ops::post(state, helper, &c, &input).await.map(drop)
        }
        "transfer" => {
            let input = TransferInput {
                to_helper: form.to_helper.clone().filter(|s| !s.is_empty()),
                to_queue: form.to_queue.clone().filter(|s| !s.is_empty()),
            };
            helper_ops::transfer(state, helper, &c, &input).await.map(drop)
        }
        "redirect" => {
            let input = RedirectInput { team: form.team.clone().unwrap_or_default() };
            helper_ops::redirect(state, helper, &c, &input).await.map(drop)
        }
        "block" => {
            let hours = form.hours.as_deref().and_then(|h| h.parse().ok()).unwrap_or(0);
            crate::blocks::block(state, helper, &c, hours).await
        }
        "unblock" => crate::blocks::lift(state, helper, &c).await,
        "close" => {
            let outcome = form
                .outcome
                .as_deref()
                .and_then(Outcome::parse)
                .ok_or_else(|| AppError::bad_request("invalid_outcome", "Choose an outcome."))?;
            helper_ops::close(state, helper, &c, &CloseInput { outcome }).await.map(drop)
        }
        _ => Err(AppError::NotFound("No such action.")),
    }
}
