//! "Send me a sign-in link": a helper with an address on file asks for a one-time link
//! by mail (`helpers::signin::mail_link`). The page answers the same whether or not the
//! address belongs to a helper, and the lookup and sending happen after the answer, so
//! neither the text nor the time it takes tells a stranger who helps here.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::Ui;
use super::render::{MessagePage, error_page, render};
use crate::domain::Email;
use crate::error::AppError;
use crate::extract::RequesterNetwork;
use crate::helpers::signin;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

pub async fn request(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequesterNetwork(network): RequesterNetwork,
    Form(form): Form<EmailForm>,
) -> Response {
    let ui = Ui::of(&state, &headers, None);
    let refused = if !signin::same_origin(&headers, state.config.public_url.as_deref()) {
        Some(AppError::Forbidden("This form must be sent from the sign-in page.".into()))
    } else if state.mailer.is_none() {
        Some(AppError::NotFound("Sign-in links by e-mail are not set up here."))
    } else {
        state.limits.request(&network).err()
    };
    if let Some(error) = refused {
        return error_page(&state, &headers, &error, Some("/console/signin".into()));
    }
    let Ok(address) = Email::parse(&form.email) else {
        let error = AppError::bad_request("invalid_email", ui.t("helpline-console-signin-email-invalid"));
        return error_page(&state, &headers, &error, Some("/console/signin".into()));
    };
    let lang = ui.lang.clone();
    let task_state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = signin::mail_link(&task_state, &address, &lang).await {
            tracing::warn!(%error, "a sign-in link by e-mail did not go out");
        }
    });
    let minutes = state.config.console.link_minutes.to_string();
    let page = MessagePage {
        title: ui.t("helpline-console-signin-email-sent-title"),
        text: ui.t1("helpline-console-signin-email-sent", &minutes),
        back: Some("/console/signin".into()),
        ui,
    };
    render(&page, StatusCode::OK)
}
