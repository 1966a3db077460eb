//! The HTTP edge of the move to the talk page and of "Confirm it's you".

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::public_routes::requester_conversation;
use super::talk_page::{self, MoveView, Proposal};
use super::{helper_ops, verify};
use crate::domain::ConversationId;
use crate::error::{AppError, AppJson, AppPath, AppResult, ErrorBody};
use crate::extract::{BearerToken, RequestOrigin, RequesterNetwork};
use crate::helpers::auth::AuthedHelper;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(propose, helper_view))
        .routes(routes!(requester_view))
        .routes(routes!(answer))
        .routes(routes!(start_verify))
        .routes(routes!(verify_callback))
}

/// The owner drafts the move; the requester is shown the exact wikitext.
#[utoipa::path(post, path = "/v1/helper/conversations/{id}/talk-page", tag = "helper", params(("id" = inline(ConversationId), Path)),
    request_body = Proposal,
    responses((status = 200, body = MoveView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not the owner, closed, logged out, unverified or temporary name, no bot, one waiting")),
    security(("helper_token" = [])))]
pub async fn propose(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
    AppJson(input): AppJson<Proposal>,
) -> AppResult<AppJson<MoveView>> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    Ok(AppJson(talk_page::propose(&state, &helper, &c, &input).await?))
}

/// The move as proposed, answered, posted or failed (with the wiki's words).
#[utoipa::path(get, path = "/v1/helper/conversations/{id}/talk-page", tag = "helper", params(("id" = inline(ConversationId), Path)),
    responses((status = 200, body = MoveView), (status = 404, body = ErrorBody)), security(("helper_token" = [])))]
pub async fn helper_view(
    State(state): State<AppState>,
    AuthedHelper(helper): AuthedHelper,
    AppPath(id): AppPath<ConversationId>,
) -> AppResult<AppJson<MoveView>> {
    let c = helper_ops::authorize(&state, &helper, &id).await?;
    talk_page::view(&state, &c, true).await?.map(AppJson).ok_or(AppError::NotFound("No move proposed."))
}

/// What the helper proposes to post on the requester's talk page, word for word.
#[utoipa::path(get, path = "/v1/conversations/{id}/talk-page", tag = "requester", params(("id" = inline(ConversationId), Path)),
    responses((status = 200, body = MoveView), (status = 404, body = ErrorBody)), security(("requester_token" = [])))]
pub async fn requester_view(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
) -> AppResult<AppJson<MoveView>> {
    let c = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    talk_page::view(&state, &c, false).await?.map(AppJson).ok_or(AppError::NotFound("No move proposed."))
}

#[derive(Deserialize, ToSchema)]
pub struct Answer {
    /// `true`: post it and continue there; `false`: stay in this chat.
    pub accept: bool,
}

/// The requester accepts (the bot posts the section, the conversation closes as moved,
/// with the link) or declines (the chat goes on).
#[utoipa::path(post, path = "/v1/conversations/{id}/talk-page/answer", tag = "requester", params(("id" = inline(ConversationId), Path)),
    request_body = Answer,
    responses((status = 200, body = MoveView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "nothing waiting, or the name is no longer confirmed")),
    security(("requester_token" = [])))]
pub async fn answer(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
    AppJson(input): AppJson<Answer>,
) -> AppResult<AppJson<MoveView>> {
    let c = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    Ok(AppJson(talk_page::answer(&state, &c, input.accept).await?))
}

#[derive(Serialize, ToSchema)]
pub struct VerifyStart {
    /// Open this in a new window: the wiki asks the requester to allow it.
    pub authorize_url: String,
}

/// "Confirm it's you": where the requester's window goes to prove their wiki account.
#[utoipa::path(post, path = "/v1/conversations/{id}/verify", tag = "requester", params(("id" = inline(ConversationId), Path)),
    responses((status = 200, body = VerifyStart), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the site has no OAuth client")),
    security(("requester_token" = [])))]
pub async fn start_verify(
    State(state): State<AppState>,
    AppPath(id): AppPath<ConversationId>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
    BearerToken(token): BearerToken,
) -> AppResult<AppJson<VerifyStart>> {
    let c = requester_conversation(&state, &id, &network, origin.as_deref(), &token).await?;
    Ok(AppJson(VerifyStart { authorize_url: verify::start(&state, &c).await? }))
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "requester/verified.html")]
struct Verified {
    lang: String,
    title: String,
    text: String,
}

/// The wiki sends the window back here; it says what happened, to be closed.
#[utoipa::path(get, path = "/v1/verify/callback", tag = "requester",
    responses((status = 200, description = "confirmed (HTML)"), (status = 400, description = "not confirmed (HTML)")))]
pub async fn verify_callback(State(state): State<AppState>, Query(q): Query<Callback>) -> Response {
    let outcome = match (q.code, q.state) {
        (Some(code), Some(flow)) => verify::finish(&state, &code, &flow).await,
        _ => Err("helpline-verify-failed"),
    };
    let (status, lang, title, text) = match outcome {
        Ok((c, name)) => (
            StatusCode::OK,
            c.lang.clone(),
            state.i18n.format(&c.lang, "helpline-verify-done-title", &[]),
            state.i18n.format(&c.lang, "helpline-verify-done", &[&name]),
        ),
        Err(key) => (
            StatusCode::BAD_REQUEST,
            "en".to_string(),
            state.i18n.format("en", "helpline-verify-failed-title", &[]),
            state.i18n.format("en", key, &[]),
        ),
    };
    match (Verified { lang, title, text }).render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
