//! The helper API (v1): the queue, a conversation, and what a helper does with it.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::helper_ops::{self, CloseInput, HelperMessageInput, HelperView, RedirectInput, TransferInput};
use super::public_routes::After;
use super::requester::PostedMessage;
use crate::domain::{ConversationId, Helper, QueueId, QueueItem, Status};
use crate::error::{AppError, AppJson, AppPath, AppQuery, AppResult, ErrorBody};
use crate::helpers::auth::AuthedHelper;
use crate::state::AppState;
use crate::store::conversations::QueueFilter;
use crate::store::events::AuditEvent;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queue))
        .routes(routes!(read))
        .routes(routes!(events))
        .routes(routes!(claim))
        .routes(routes!(release))
        .routes(routes!(transfer))
        .routes(routes!(redirect))
        .routes(routes!(close))
        .routes(routes!(post_message))
}

#[derive(Deserialize, IntoParams)]
pub struct QueueQuery {
    /// Only this queue (one of yours).
    pub queue: Option<QueueId>,
    /// Only this language.
    pub lang: Option<String>,
    /// Only this status (default: every status but `closed`).
    pub status: Option<Status>,
}

#[derive(Serialize, ToSchema)]
pub struct QueueListing {
    /// Waiting first, urgent on top, oldest first.
    pub conversations: Vec<QueueItem>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditTrail {
    pub events: Vec<AuditEvent>,
}

/// The conversations of your queues.
#[utoipa::path(get, path = "/v1/helper/queue", tag = "helper", params(QueueQuery),
    responses((status = 200, body = QueueListing), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn queue(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppQuery(query): AppQuery<QueueQuery>,
) -> AppResult<AppJson<QueueListing>> {
    let queues = match &query.queue {
        Some(q) if helper.is_member(q) => vec![q.clone()],
        Some(_) => return Err(AppError::NotFound("You are not a member of that queue.")),
        None => helper.queue_ids(),
    };
    let lang = query.lang.as_deref().map(str::to_ascii_lowercase);
    let filter = QueueFilter {
        queues: &queues,
        lang: lang.as_deref(),
        status: query.status,
        site: None,
        owner_id: None,
        limit: 500,
    };
    Ok(AppJson(QueueListing { conversations: helper_ops::listing(&state, &helper, &filter).await? }))
}

/// A conversation of your queues, with messages after `after` (internal notes included).
#[utoipa::path(get, path = "/v1/helper/conversations/{id}", tag = "helper", params(("id" = inline(ConversationId), Path), After),
    responses((status = 200, body = HelperView), (status = 404, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn read(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
    AppQuery(after): AppQuery<After>,
) -> AppResult<AppJson<HelperView>> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    Ok(AppJson(helper_ops::view(&state, &helper, &c, after.after.max(0)).await?))
}

/// The audit trail: who did what and when (real helper names).
#[utoipa::path(get, path = "/v1/helper/conversations/{id}/events", tag = "helper", params(("id" = inline(ConversationId), Path)),
    responses((status = 200, body = AuditTrail), (status = 404, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn events(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
) -> AppResult<AppJson<AuditTrail>> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    Ok(AppJson(AuditTrail { events: helper_ops::events(&state, &c).await? }))
}

async fn view_after_change(
    state: &AppState,
    helper: &Helper,
    id: &ConversationId,
) -> AppResult<AppJson<HelperView>> {
    // After a transfer to another queue the helper may no longer see it: answer 200
    // with what they may still see, or 404 when nothing.
    let c = helper_ops::authorize(state, helper, id).await?;
    Ok(AppJson(helper_ops::view(state, helper, &c, 0).await?))
}

/// Become the one owner. A second helper gets `409 already_claimed` naming the owner.
#[utoipa::path(post, path = "/v1/helper/conversations/{id}/claim", tag = "helper", params(("id" = inline(ConversationId), Path)),
    responses((status = 200, body = HelperView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn claim(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
) -> AppResult<AppJson<HelperView>> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    helper_ops::claim(&state, &helper, &c).await?;
    view_after_change(&state, &helper, &id).await
}

/// The owner gives the conversation back to the queue.
#[utoipa::path(post, path = "/v1/helper/conversations/{id}/release", tag = "helper", params(("id" = inline(ConversationId), Path)),
    responses((status = 200, body = HelperView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn release(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
) -> AppResult<AppJson<HelperView>> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    helper_ops::release(&state, &helper, &c).await?;
    view_after_change(&state, &helper, &id).await
}

/// Hand over to a named helper of the same queue, or move to another queue.
#[utoipa::path(post, path = "/v1/helper/conversations/{id}/transfer", tag = "helper", params(("id" = inline(ConversationId), Path)),
    request_body = TransferInput,
    responses((status = 200, body = HelperView), (status = 204, description = "moved to a queue you are not in"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn transfer(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
    AppJson(input): AppJson<TransferInput>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    let moved = helper_ops::transfer(&state, &helper, &c, &input).await?;
    if helper.is_member(&moved.queue) {
        Ok(view_after_change(&state, &helper, &id).await?.into_response())
    } else {
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}

/// Send the matter to one of the site's other teams; the requester is told where and how.
#[utoipa::path(post, path = "/v1/helper/conversations/{id}/redirect", tag = "helper", params(("id" = inline(ConversationId), Path)),
    request_body = RedirectInput,
    responses((status = 200, body = HelperView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn redirect(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
    AppJson(input): AppJson<RedirectInput>,
) -> AppResult<AppJson<HelperView>> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    helper_ops::redirect(&state, &helper, &c, &input).await?;
    view_after_change(&state, &helper, &id).await
}

/// Close with an outcome.
#[utoipa::path(post, path = "/v1/helper/conversations/{id}/close", tag = "helper", params(("id" = inline(ConversationId), Path)),
    request_body = CloseInput,
    responses((status = 200, body = HelperView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn close(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
    AppJson(input): AppJson<CloseInput>,
) -> AppResult<AppJson<HelperView>> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    helper_ops::close(&state, &helper, &c, &input).await?;
    view_after_change(&state, &helper, &id).await
}

/// Answer the requester (owner only) or add an internal note (any helper of the queue).
#[utoipa::path(post, path = "/v1/helper/conversations/{id}/messages", tag = "helper", params(("id" = inline(ConversationId), Path)),
    request_body = HelperMessageInput,
    responses((status = 201, body = PostedMessage), (status = 200, body = PostedMessage, description = "already stored"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn post_message(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
    AppJson(input): AppJson<HelperMessageInput>,
) -> AppResult<(StatusCode, AppJson<PostedMessage>)> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    let appended = helper_ops::post(&state, &helper, &c, &input).await?;
    let status = if appended.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, AppJson(PostedMessage { seq: appended.seq, duplicate: appended.duplicate })))
}
