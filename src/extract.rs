//! What the HTTP edge reads from a request about who sends it: the requester's network
//! (as a keyed, daily-rotated hash, never the address), the page's origin, a bearer
//! token. Used by the requester API, the sockets and the console.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, ORIGIN};
use axum::http::request::Parts;

use crate::error::{AppError, AppResult};
use crate::secrets::day_number;
use crate::state::AppState;

/// The keyed hash of the requester's network (IPv4 address or IPv6 /64), rotated daily.
pub struct RequesterNetwork(pub String);

impl FromRequestParts<AppState> for RequesterNetwork {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        let ip = if state.config.trust_forwarded_for {
            parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                // The rightmost address is the one our proxy saw; entries to its left
                // come from the client and can be forged.
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(peer)
        } else {
            peer
        };
        Ok(Self(state.secrets.network_hash(ip, day_number(state.now_ms()))))
    }
}

/// The `Origin` header, when a browser sent one.
pub struct RequestOrigin(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string)))
    }
}

/// A bearer token the request must carry (`401 missing_token` without one).
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        bearer(&parts.headers).map(|t| Self(t.to_string())).ok_or(AppError::Unauthorized("missing_token"))
    }
}

/// The token of an `Authorization: Bearer …` header (the scheme is case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A browser may only use a site's conversations from that site's allowed origins.
/// Clients that send no `Origin` (not browsers) are not limited by it.
pub fn check_origin<S: AsRef<str> + ?Sized>(
    state: &AppState,
    site: &S,
    origin: Option<&str>,
) -> AppResult<()> {
    let Some(origin) = origin else { return Ok(()) };
    let allowed = state.config.site(site).is_some_and(|s| s.allowed_origins.iter().any(|o| o == origin));
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("Origin {origin} may not use site {}.", site.as_ref())))
    }
}

/// Whether any site allows this origin (for sockets, before the conversation is known).
pub fn any_site_allows(state: &AppState, origin: &str) -> bool {
    state.config.sites.iter().any(|s| s.allowed_origins.iter().any(|a| a == origin))
}
