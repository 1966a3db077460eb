//! The requester's HTTP API (v1): create, read after `seq`, post, close, thanks, transcript,
//! answers through the wiki's e-mail.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::requester::{
    self, CreatedConversation, NewConversation, NewMessage, PostedMessage, RequesterView,
};
use crate::domain::{Conversation, ConversationId};
use crate::error::{AppJson, AppPath, AppQuery, AppResult, ErrorBody};
use crate::extract::{BearerToken, RequestOrigin, RequesterNetwork, check_origin};
use crate::proof_of_work::Challenge;
use crate::secrets::hash_token;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(challenge))
        .routes(routes!(read))
        .routes(routes!(post_message))
        .routes(routes!(close))
        .routes(routes!(thanks))
        .routes(routes!(transcript))
        .routes(routes!(wiki_mail))
}

/// Every call after creation: within the network's rate, the requester's own
/// conversation (by token), from an origin its site allows.
pub(super) async fn requester_conversation(
    state: &AppState,
    id: &ConversationId,
    network: &str,
    origin: Option<&str>,
    token: &str,
) -> AppResult<Conversation> {
    state.limits.request(network)?;
    let conversation = requester::authorize(state, id, token).await?;
    check_origin(state, &conversation.site, origin)?;
    Ok(conversation)
}

#[derive(Deserialize, IntoParams)]
pub struct After {
    /// Only messages with a greater `seq` (default 0: all).
    #[serde(default)]
    pub after: i64,
}

/// Starts a conversation: the request in the requester's own words.
#[utoipa::path(post, path = "/v1/conversations", tag = "requester", request_body = NewConversation,
    responses(
        (status = 201, body = CreatedConversation),
        (status = 400, body = ErrorBody, description = "empty or too long text, unknown site or topic, malformed e-mail or JSON, a proof of work missing (`proof_of_work_required`) or not holding (`proof_of_work_invalid`)"),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site"),
        (status = 413, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    AppJson(input): AppJson<NewConversation>,
) -> AppResult<(StatusCode, AppJson<CreatedConversation>)> {
    state.limits.request(&network)?;
    if state.config.site(&input.site).is_some() {
        check_origin(&state, &input.site, origin.as_deref())?;
    }
    let created = requester::create(&state, input, &network, true).await?;
    Ok((StatusCode::CREATED, AppJson(created)))
}

/// A proof-of-work challenge (ALTCHA's format), for `proof_of_work` of a new request
/// while the server asks for one (`proof_of_work` in the site's widget settings).
#[utoipa::path(get, path = "/v1/challenge", tag = "requester",
    responses((status = 200, body = Challenge), (status = 429, body = ErrorBody)))]
pub async fn challenge(
    State(state): State<AppState>,
    RequesterNetwork(network): RequesterNetwork,
) -> AppResult<AppJson<Challenge>> {
    state.limits.request(&network)?;
    Ok(AppJson(super::proof_of_work::challenge(&state)))
}

/// The conversation's status and its messages after `after`.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "requester", params(("id" = inline(ConversationId), Path), After),
    responses((status = 200, body = RequesterView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("requester_token" = [])))]
pub async fn read(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
    AppQuery(after): AppQuery<After>,
) -> AppResult<AppJson<RequesterView>> {
    let conversation = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    Ok(AppJson(requester::view(&state, &conversation, after.after.max(0)).await?))
}

/// Adds a message. Idempotent on `client_id`: a resend returns the stored `seq`.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "requester", params(("id" = inline(ConversationId), Path)),
    request_body = NewMessage,
    responses((status = 201, body = PostedMessage), (status = 200, body = PostedMessage, description = "already stored"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("requester_token" = [])))]
pub async fn post_message(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
    AppJson(input): AppJson<NewMessage>,
) -> AppResult<(StatusCode, AppJson<PostedMessage>)> {
    let conversation = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    state.limits.message(&hash_token(&token))?;
    let appended = requester::post(&state, &conversation, &input.client_id, &input.text, None).await?;
    let status = if appended.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, AppJson(PostedMessage { seq: appended.seq, duplicate: appended.duplicate })))
}

/// The requester ends the conversation (outcome `withdrawn`).
#[utoipa::path(post, path = "/v1/conversations/{id}/close", tag = "requester", params(("id" = inline(ConversationId), Path)),
    responses((status = 200, body = RequesterView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("requester_token" = [])))]
pub async fn close(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
) -> AppResult<AppJson<RequesterView>> {
    let conversation = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    let closed = requester::close(&state, &conversation).await?;
    Ok(AppJson(requester::view(&state, &closed, 0).await?))
}

/// Once the conversation has ended: an optional thank-you and 1–5 rating, once.
#[utoipa::path(post, path = "/v1/conversations/{id}/thanks", tag = "requester", params(("id" = inline(ConversationId), Path)),
    request_body = crate::thanks::NewThanks,
    responses((status = 201, description = "stored"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not closed yet, or thanks already left"), (status = 429, body = ErrorBody)),
    security(("requester_token" = [])))]
pub async fn thanks(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
    AppJson(input): AppJson<crate::thanks::NewThanks>,
) -> AppResult<StatusCode> {
    let conversation = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    crate::thanks::leave(&state, &conversation, input).await?;
    Ok(StatusCode::CREATED)
}

/// Once the conversation has ended: mail its transcript (every message but internal
/// notes) to the address given, or to the conversation's own; at most 3 times.
#[utoipa::path(post, path = "/v1/conversations/{id}/transcript", tag = "requester", params(("id" = inline(ConversationId), Path)),
    request_body = super::transcripts::TranscriptRequest,
    responses((status = 202, body = super::transcripts::TranscriptRequested, description = "it will be mailed"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not closed yet, sent 3 times already, or no mail here"),
        (status = 429, body = ErrorBody)),
    security(("requester_token" = [])))]
pub async fn transcript(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
    AppJson(input): AppJson<super::transcripts::TranscriptRequest>,
) -> AppResult<(StatusCode, AppJson<super::transcripts::TranscriptRequested>)> {
    let conversation = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    let requested = super::transcripts::request(&state, &conversation, input).await?;
    Ok((StatusCode::ACCEPTED, AppJson(requested)))
}

/// "Answer me through the wiki's e-mail": for a confirmed account that takes e-mail from
/// other users, later answers go through the wiki (the site's bot, `emailuser`), which
/// keeps the address; the conversation moves to the e-mail channel.
#[utoipa::path(post, path = "/v1/conversations/{id}/wiki-mail", tag = "requester", params(("id" = inline(ConversationId), Path)),
    responses((status = 200, body = RequesterView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody,
            description = "not confirmed (`unverified`), `temporary_account`, `not_emailable`, `closed`, \
                `wiki_mail_unavailable`, `mail_unavailable`, `wiki_unreachable`"),
        (status = 429, body = ErrorBody)),
    security(("requester_token" = [])))]
pub async fn wiki_mail(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
) -> AppResult<AppJson<RequesterView>> {
    let conversation = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    let changed = super::wiki_mail::choose(&state, &conversation).await?;
    Ok(AppJson(requester::view(&state, &changed, 0).await?))
}
