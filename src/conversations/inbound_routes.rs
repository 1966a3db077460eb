//! The HTTP edge of inbound mail: `helpline mail-in` (an MTA's pipe) and the operator's
//! own tools hand a raw mail to the server here, so that it reaches live sockets like
//! any message. Only with the server's mail-in key (derived from its secret, so only
//! what can read the data directory has it).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::inbound::{self, Received};
use crate::error::{AppError, AppJson, AppResult, ErrorBody};
use crate::mail::inbound::MAX_BYTES;
use crate::secrets::constant_time_eq;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(mail_in)).layer(DefaultBodyLimit::max(MAX_BYTES))
}

/// One raw RFC 5322 mail, as the MTA received it.
#[utoipa::path(post, path = "/v1/mail/inbound", tag = "operations",
    request_body(content = String, content_type = "message/rfc822"),
    responses((status = 200, body = Received), (status = 400, body = ErrorBody, description = "not a mail: nothing stored"),
        (status = 401, body = ErrorBody, description = "not the server's mail-in key")))]
pub async fn mail_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<AppJson<Received>> {
    let given =
        headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|key| constant_time_eq(key, &state.secrets.mail_in_key())) {
        return Err(AppError::Unauthorized("Give the server's mail-in key."));
    }
    Ok(AppJson(inbound::receive(&state, &body).await?))
}
