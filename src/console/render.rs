//! How every console page is rendered, and errors shown as pages.

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::Ui;
use crate::error::AppError;
use crate::state::AppState;

/// What console pages may load: only this server's own script, styles and images, and
/// its own socket. An injected `<script>`, inline handler or style, or a foreign
/// resource is refused by the browser even if escaping ever failed.
pub const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Renders a template, or a plain 500 if it cannot be (a bug, logged). Pages are never
/// framed, and their addresses (which name conversations) never leave in a `Referer`;
/// `same-origin` rather than `no-referrer`, because with the latter browsers send
/// `Origin: null` on form posts, which the origin check must refuse.
pub fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (
            status,
            [
                ("x-frame-options", "DENY"),
                ("referrer-policy", "same-origin"),
                ("content-security-policy", CONSOLE_CSP),
            ],
            Html(html),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering a console page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    pub uselang: Option<String>,
}

#[derive(Template)]
#[template(path = "console/message.html")]
pub struct MessagePage<'a> {
    pub ui: Ui<'a>,
    pub title: String,
    pub text: String,
    pub back: Option<String>,
}

/// An error as a page in the helper's language, with the way back.
pub fn error_page(state: &AppState, headers: &HeaderMap, error: &AppError, back: Option<String>) -> Response {
    if let AppError::Internal(e) = error {
        tracing::error!(error = %e, "console request failed");
    }
    let ui = Ui::of(state, headers, None);
    let page =
        MessagePage { title: ui.t("helpline-console-error-title"), text: error.public_message(), back, ui };
    render(&page, error.status())
}
