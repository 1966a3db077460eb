//! The helper API's authentication: `Authorization: Bearer hlp_…` (a personal API token
//! made with `helpline helper token NAME`).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::Helper;
use crate::app::AppState;
use crate::error::AppError;

pub struct AuthedHelper(pub Helper);

pub fn bearer(parts: &Parts) -> Option<&str> {
    bearer_from(&parts.headers)
}

/// The token of an `Authorization: Bearer …` header (the scheme is case-insensitive).
pub fn bearer_from(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl FromRequestParts<AppState> for AuthedHelper {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(AppError::Unauthorized("missing_token"))?;
        super::find_by_token(&state.store, token)
            .await?
            .map(AuthedHelper)
            .ok_or(AppError::Unauthorized("invalid_token"))
    }
}
