//! Applying to join a queue whose rules take a coordinator's approval: a wiki account
//! writes a short statement; a coordinator of the queue approves or declines it with a
//! reason, which stays. An approved applicant becomes a member (a helper account of the
//! wiki name is made if there is none) and is checked against the rules at once.

use crate::config::Approval;
use crate::domain::{Helper, QueueId};
use crate::error::{AppError, AppResult};
use crate::secrets;
use crate::state::AppState;
use crate::store::eligibility::{self as store, Application};

/// The longest statement, in characters.
pub const STATEMENT_CHARS: usize = 2000;

/// Files an application for `name` (a wiki account) to `queue`; its id.
pub async fn file(state: &AppState, queue: &QueueId, name: &str, statement: &str) -> AppResult<String> {
    let rules = state.config.queue(queue).and_then(|q| q.eligibility.as_ref());
    if rules.is_none_or(|r| r.approval == Approval::None) {
        return Err(AppError::bad_request(
            "no_applications",
            format!("Queue {queue} does not take applications."),
        ));
    }
    let statement = statement.trim();
    if statement.is_empty() || statement.chars().count() > STATEMENT_CHARS {
        return Err(AppError::bad_request(
            "bad_statement",
            format!("Say in 1 to {STATEMENT_CHARS} characters why you would like to help."),
        ));
    }
    let id = secrets::new_id();
    if !store::apply(&state.store, &id, queue, name, statement, state.now_ms()).await? {
        return Err(AppError::conflict(
            "already_applied",
            "An application of this account is already waiting.",
        ));
    }
    Ok(id)
}

/// A coordinator of the application's queue decides it.
pub async fn decide(
    state: &AppState,
    by: &Helper,
    id: &str,
    approve: bool,
    reason: &str,
) -> AppResult<Application> {
    let application =
        store::find(&state.store, id).await?.ok_or_else(|| AppError::NotFound("No such application."))?;
    if !by.coordinates(&application.queue) {
        return Err(AppError::Forbidden("Only the queue's coordinators decide applications.".into()));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_request("reason_required", "Give the reason: it stays with the decision."));
    }
    if !store::decide(&state.store, id, approve, &by.id, reason, state.now_ms()).await? {
        return Err(AppError::conflict("decided", "This application was decided already."));
    }
    if approve {
        let helper = match crate::helpers::named(&state.store, &application.name).await? {
            Some(helper) => helper,
            None => crate::helpers::add(&state.store, state.now_ms(), &application.name, &[], &[]).await?,
        };
        crate::helpers::join_queue(&state.store, &helper.id, &application.queue).await?;
        let helper = crate::helpers::by_id(&state.store, &helper.id).await?.unwrap_or(helper);
        super::recheck_helper(state, &helper).await?;
    }
    store::find(&state.store, id).await?.ok_or_else(|| AppError::NotFound("No such application."))
}

/// How long a wiki account signed in through OAuth may apply, without an account here.
const APPLICANT_MS: i64 = 30 * 60_000;

/// The queues `name` may apply to: they take applications, and `name` is not a member
/// (nor suspended from them).
pub fn open_to(state: &AppState, helper: Option<&Helper>) -> Vec<QueueId> {
    state
        .config
        .queues
        .iter()
        .filter(|q| q.eligibility.as_ref().is_some_and(|r| r.approval != Approval::None))
        .filter(|q| {
            helper.is_none_or(|h| !h.is_member(&q.id) && !h.suspended.iter().any(|s| s.queue == q.id))
        })
        .map(|q| q.id.clone())
        .collect()
}

/// A wiki account the wiki vouched for (OAuth) but which is no helper: a token that lets
/// it apply for a while.
pub async fn start_applicant(state: &AppState, name: &str) -> AppResult<String> {
    let token = secrets::new_token();
    store::new_applicant(&state.store, &token.hash, name, state.now_ms() + APPLICANT_MS).await?;
    Ok(token.token)
}

/// The wiki name behind an applicant token, while it lasts.
pub async fn applicant(state: &AppState, token: &str) -> AppResult<Option<String>> {
    Ok(store::applicant(&state.store, &secrets::hash_token(token), state.now_ms()).await?)
}

/// The applications of these queues, waiting ones first.
pub async fn of_queues(state: &AppState, queues: &[QueueId]) -> AppResult<Vec<Application>> {
    let mut all = Vec::new();
    for queue in queues {
        all.extend(store::of_queue(&state.store, queue).await?);
    }
    all.sort_by_key(|a| (a.status != "pending", -a.created_at));
    Ok(all)
}
