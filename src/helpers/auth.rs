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
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
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
