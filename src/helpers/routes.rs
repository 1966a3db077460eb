//! The helper's own account: who am I, and available/away.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Helper;
use super::auth::AuthedHelper;
use crate::app::AppState;
use crate::error::{AppJson, AppResult, ErrorBody};

/// The signed-in helper, with their queues.
#[utoipa::path(get, path = "/v1/helper/me", tag = "helper",
    responses((status = 200, body = Helper), (status = 401, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn me(AuthedHelper(helper): AuthedHelper) -> AppJson<Helper> {
    AppJson(helper)
}

#[derive(Deserialize, ToSchema)]
pub struct PresenceInput {
    /// `available` or `away`.
    pub status: PresenceStatus,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Available,
    Away,
}

/// Sets the helper available or away. Away helpers are not counted as online for requesters.
#[utoipa::path(post, path = "/v1/helper/presence", tag = "helper", request_body = PresenceInput,
    responses((status = 200, body = Helper), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn set_presence(
    State(state): State<AppState>,
    AuthedHelper(mut helper): AuthedHelper,
    AppJson(input): AppJson<PresenceInput>,
) -> AppResult<AppJson<Helper>> {
    let away = matches!(input.status, PresenceStatus::Away);
    super::set_away(&state.store, &helper.id, away).await?;
    state.presence.set_away(&helper.id, away);
    helper.away = away;
    Ok(AppJson(helper))
}
