//! Applying to join a queue from the console, and coordinators' decisions. A signed-in
//! helper may apply to another queue; a wiki account the wiki vouched for (OAuth) but
//! which is no helper here may apply for half an hour after signing in, by the cookie
//! that sign-in gave it. Coordinators decide on the team page, with a reason that stays.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Ui;
use super::guard::{ConsoleForm, MaybeSignedIn, cross_site};
use super::render::{error_page, render};
use crate::domain::QueueId;
use crate::eligibility::applications;
use crate::error::{AppError, AppResult};
use crate::helpers::signin;
use crate::state::AppState;

const APPLICANT_COOKIE: &str = "helpline_applicant";

/// The applicant's cookie: HttpOnly, only for these pages, gone in half an hour.
pub fn applicant_cookie(state: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.console.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{APPLICANT_COOKIE}={token}; Path=/console/apply; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Template)]
#[template(path = "console/apply.html")]
struct ApplyPage<'a> {
    ui: Ui<'a>,
    name: String,
    /// The form posts here: `/console/apply` for helpers, `/console/apply/wiki` else.
    action: &'static str,
    queues: Vec<(QueueId, String)>,
    /// Filed: the queue's name.
    filed: Option<String>,
}

/// Who applies: the signed-in helper, or the wiki account of the applicant cookie.
async fn applicant(
    state: &AppState,
    headers: &HeaderMap,
    session: Option<&signin::ConsoleSession>,
) -> AppResult<Option<(String, Option<crate::domain::Helper>)>> {
    if let Some(session) = session {
        return Ok(Some((session.helper.name.clone(), Some(session.helper.clone()))));
    }
    let Some(token) = signin::named_cookie(headers, APPLICANT_COOKIE) else { return Ok(None) };
    Ok(applications::applicant(state, token).await?.map(|name| (name, None)))
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeSignedIn(session): MaybeSignedIn,
) -> Response {
    let who = match applicant(&state, &headers, session.as_ref()).await {
        Ok(Some(who)) => who,
        Ok(None) => return Redirect::to("/console/signin").into_response(),
        Err(e) => return error_page(&state, &headers, &e, None),
    };
    show(&state, &headers, session.as_ref(), who, None)
}

fn show(
    state: &AppState,
    headers: &HeaderMap,
    session: Option<&signin::ConsoleSession>,
    (name, helper): (String, Option<crate::domain::Helper>),
    filed: Option<String>,
) -> Response {
    let ui = match session {
        Some(session) => Ui::signed_in(state, headers, session, None),
        None => Ui::of(state, headers, None),
    };
    let queues = applications::open_to(state, helper.as_ref())
        .into_iter()
        .map(|id| (id.clone(), state.config.queue_name(&id)))
        .collect();
    let action = if helper.is_some() { "/console/apply" } else { "/console/apply/wiki" };
    render(&ApplyPage { ui, name, action, queues, filed }, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    queue: String,
    #[serde(default)]
    statement: String,
}

/// A signed-in helper applies to another queue.
pub async fn file_as_helper(State(state): State<AppState>, action: ConsoleForm<ApplyForm>) -> Response {
    let helper = action.session.helper.clone();
    let queue = QueueId::from(action.form.queue.as_str());
    let result = applications::file(&state, &queue, &helper.name, &action.form.statement).await;
    match result {
        Ok(_) => {
            let who = (helper.name.clone(), Some(helper));
            show(
                &state,
                action.reply.headers(),
                Some(&action.session),
                who,
                Some(state.config.queue_name(&queue)),
            )
        }
        Err(e) => action.reply.done(&state, Err(e), "/console/apply"),
    }
}

/// A wiki account without a helper account applies (the applicant cookie says who).
pub async fn file_as_wiki_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ApplyForm>,
) -> Response {
    if !signin::same_origin(&headers, state.config.public_url.as_deref()) {
        return error_page(&state, &headers, &cross_site(), None);
    }
    let result = async {
        let (name, _) = applicant(&state, &headers, None)
            .await?
            .ok_or_else(|| AppError::Unauthorized("Sign in with your wiki account first."))?;
        let queue = QueueId::from(form.queue.as_str());
        applications::file(&state, &queue, &name, &form.statement).await?;
        Ok::<_, AppError>((name, queue))
    }
    .await;
    match result {
        Ok((name, queue)) => {
            show(&state, &headers, None, (name, None), Some(state.config.queue_name(&queue)))
        }
        Err(AppError::Unauthorized(_)) => Redirect::to("/console/signin").into_response(),
        Err(e) => error_page(&state, &headers, &e, Some("/console/apply".into())),
    }
}

/// After an OAuth sign-in of a wiki account that is no helper: to the application form,
/// when some queue takes applications.
pub async fn invite_to_apply(state: &AppState, name: &str) -> Option<Response> {
    if applications::open_to(state, None).is_empty() {
        return None;
    }
    let token = applications::start_applicant(state, name).await.ok()?;
    let mut response = Redirect::to("/console/apply").into_response();
    response.headers_mut().append(SET_COOKIE, applicant_cookie(state, &token, 1800));
    Some(response)
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    application: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// A coordinator approves or declines an application, with the reason.
pub async fn decide(State(state): State<AppState>, action: ConsoleForm<DecideForm>) -> Response {
    let result = async {
        let approve = match action.form.decision.as_str() {
            "approve" => true,
            "decline" => false,
            _ => return Err(AppError::bad_request("invalid_choice", "Approve or decline.")),
        };
        let f = &action.form;
        applications::decide(&state, &action.session.helper, &f.application, approve, &f.reason)
            .await
            .map(drop)
    }
    .await;
    action.reply.done(&state, result, "/console/team")
}
