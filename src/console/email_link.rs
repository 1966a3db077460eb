//! "Send me a sign-in link": a helper with an address on file asks for a one-time link
//! by mail. The page answers the same whether or not the address belongs to a helper,
//! and the lookup and sending happen after the answer, so neither the text nor the time
//! it takes tells a stranger who helps here. At most `MAX_LINKS_IN_WINDOW` links are
//! mailed per helper per link lifetime, so the form cannot be used to flood an inbox.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::Ui;
use super::pages::{MessagePage, error_page, render};
use super::session;
use crate::app::AppState;
use crate::error::AppError;
use crate::rate_limit::RequesterNetwork;

const MAX_LINKS_IN_WINDOW: i64 = 3;

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
    let ui = Ui::new(&state.i18n, &headers, None);
    let refused = if !session::same_origin(&headers, state.config.public_url.as_deref()) {
        Some(AppError::Forbidden("This form must be sent from the sign-in page.".into()))
    } else if state.mailer.is_none() {
        Some(AppError::NotFound("Sign-in links by e-mail are not set up here."))
    } else {
        state.limits.request(&network).err()
    };
    if let Some(error) = refused {
        return error_page(&state, &headers, &error, Some("/console/signin".into()));
    }
    if crate::conversations::text::email(&form.email).is_err() {
        let error = AppError::bad_request("invalid_email", ui.t("helpline-console-signin-email-invalid"));
        return error_page(&state, &headers, &error, Some("/console/signin".into()));
    }
    let lang = ui.lang.clone();
    let task_state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = mail_link(&task_state, &form.email, &lang).await {
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

async fn mail_link(state: &AppState, address: &str, lang: &str) -> anyhow::Result<()> {
    let Some(mailer) = &state.mailer else { return Ok(()) };
    let Some((helper, address)) =
        crate::helpers::find_by_email(&state.store, &state.secrets, address).await?
    else {
        return Ok(());
    };
    let minutes = state.config.console.link_minutes;
    let Some(token) =
        session::new_link_within(&state.store, &helper.id, minutes, MAX_LINKS_IN_WINDOW).await?
    else {
        tracing::info!(helper = %helper.name, "sign-in link by e-mail not sent: enough links are out already");
        return Ok(());
    };
    let link = format!("{}/console/signin/link?token={token}", state.config.public_url());
    let i18n = &state.i18n;
    let subject = i18n.format(lang, "helpline-mail-signin-subject", &[]);
    let body = i18n.format(lang, "helpline-mail-signin-body", &[&helper.name, &link, &minutes.to_string()]);
    let mail = mailer
        .letter(&address, subject, body)
        .map_err(|e| anyhow::anyhow!("building the mail: {}", e.code))?;
    mailer.send(mail).await.map_err(|e| anyhow::anyhow!("the relay answered {}", e.code))?;
    state.metrics.signin_link_mailed();
    Ok(())
}
