//! The HTTP edge of conflicts of interest and of the evidence list.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conflicts::{self, EvidenceView, NotHelpedByInput, TroubleInput};
use super::helper_ops;
use super::public_routes::requester_conversation;
use super::service::Actor;
use crate::domain::ConversationId;
use crate::error::{AppJson, AppPath, AppResult, ErrorBody};
use crate::extract::{BearerToken, RequestOrigin, RequesterNetwork};
use crate::helpers::auth::AuthedHelper;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(requester_trouble))
        .routes(routes!(not_helped_by))
        .routes(routes!(helper_trouble))
        .routes(routes!(evidence))
        .routes(routes!(send_evidence))
}

/// The requester names the account they have trouble with: it, and whoever edited with
/// it where it touched them, never see the conversation.
#[utoipa::path(post, path = "/v1/conversations/{id}/trouble", tag = "requester", params(("id" = inline(ConversationId), Path)),
    request_body = TroubleInput,
    responses((status = 204, description = "noted"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "closed")),
    security(("requester_token" = [])))]
pub async fn requester_trouble(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
    AppJson(input): AppJson<TroubleInput>,
) -> AppResult<StatusCode> {
    let c = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    conflicts::name_trouble(&state, &c, &input.account, Actor::REQUESTER).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The requester asks not to be helped by this helper.
#[utoipa::path(post, path = "/v1/conversations/{id}/not-helped-by", tag = "requester", params(("id" = inline(ConversationId), Path)),
    request_body = NotHelpedByInput,
    responses((status = 204, description = "noted"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "closed")),
    security(("requester_token" = [])))]
pub async fn not_helped_by(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
    AppJson(input): AppJson<NotHelpedByInput>,
) -> AppResult<StatusCode> {
    let c = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    conflicts::not_helped_by(&state, &c, &input.helper).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A helper names the account on the requester's word.
#[utoipa::path(post, path = "/v1/helper/conversations/{id}/trouble", tag = "helper", params(("id" = inline(ConversationId), Path)),
    request_body = TroubleInput,
    responses((status = 204, description = "noted"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "closed")),
    security(("helper_token" = [])))]
pub async fn helper_trouble(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
    AppJson(input): AppJson<TroubleInput>,
) -> AppResult<StatusCode> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    conflicts::name_trouble(&state, &c, &input.account, Actor::helper(&helper.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The named account's recent edits where they touch the requester, with diff links
/// (asked of the wiki now; a wiki error comes back in `wiki_error`).
#[utoipa::path(get, path = "/v1/helper/conversations/{id}/evidence", tag = "helper", params(("id" = inline(ConversationId), Path)),
    responses((status = 200, body = EvidenceView), (status = 404, body = ErrorBody)), security(("helper_token" = [])))]
pub async fn evidence(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
) -> AppResult<AppJson<EvidenceView>> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    Ok(AppJson(conflicts::evidence(&state, &c).await?))
}

#[derive(Serialize, ToSchema)]
pub struct SentEvidence {
    pub seq: i64,
}

/// The owner sends the list into the chat, in wikitext ready for a noticeboard.
#[utoipa::path(post, path = "/v1/helper/conversations/{id}/evidence/send", tag = "helper", params(("id" = inline(ConversationId), Path)),
    responses((status = 200, body = SentEvidence), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not the owner, no account named, nothing found, wiki unavailable")),
    security(("helper_token" = [])))]
pub async fn send_evidence(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
) -> AppResult<AppJson<SentEvidence>> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    let appended = conflicts::send_evidence(&state, &helper, &c).await?;
    Ok(AppJson(SentEvidence { seq: appended.seq }))
}
