//! The helper API's own account calls: who am I, and available/away.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::AuthedHelper;
use crate::domain::{Helper, PresenceStatus};
use crate::error::{AppJson, AppResult, ErrorBody};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me)).routes(routes!(set_presence))
}

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

/// Sets the helper available or away. Away helpers are not counted as online for requesters.
#[utoipa::path(post, path = "/v1/helper/presence", tag = "helper", request_body = PresenceInput,
    responses((status = 200, body = Helper), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("helper_token" = [])))]
pub async fn set_presence(
    State(state): State<AppState>,
    AuthedHelper(mut helper): AuthedHelper,
    AppJson(input): AppJson<PresenceInput>,
) -> AppResult<AppJson<Helper>> {
    super::set_presence(&state, &helper.id, input.status).await?;
    helper.away = input.status == PresenceStatus::Away;
    Ok(AppJson(helper))
}
