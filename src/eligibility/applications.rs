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
