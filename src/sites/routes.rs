//! `GET /v1/sites/{site}/widget`: everything the dialog needs, in one answer.

use std::collections::HashMap;

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::{OtherTeam, Topic};
use crate::domain::{Channel, Language, SiteId};
use crate::error::{AppError, AppJson, AppQuery, AppResult, ErrorBody};
use crate::extract::{RequestOrigin, RequesterNetwork, check_origin};
use crate::i18n::RTL_LANGUAGES;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(widget_settings))
}

#[derive(Deserialize, IntoParams)]
pub struct LangQuery {
    /// The reader's language; defaults to the site's.
    pub lang: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetSettings {
    pub site: SiteSummary,
    /// The language of `messages`.
    pub lang: String,
    /// `ltr` or `rtl`.
    pub dir: &'static str,
    /// Localised texts of the dialog, by message key.
    pub messages: HashMap<String, String>,
    pub topics: Vec<Topic>,
    /// Teams that handle some matters instead (emergencies, privacy, legal, admin conduct).
    pub other_teams: Vec<OtherTeam>,
    pub emergency_contact: String,
    pub limits: WidgetLimits,
    pub availability: Availability,
    /// Channels offered, preferred first.
    pub channels: Vec<Channel>,
    /// What counts as personal data: the dialog warns before sending, by the rules the
    /// server masks with.
    pub personal_data: crate::screening::PersonalDataRules,
    /// The site's wiki can confirm a logged-in requester's name (OAuth 2.0): the chat
    /// offers "Confirm it's you".
    pub confirm_identity: bool,
    /// New requests must carry a proof of work now (many are waiting): the widget
    /// solves a challenge from `GET /v1/challenge` while the person writes.
    pub proof_of_work: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SiteSummary {
    pub id: String,
    pub name: String,
    pub language: String,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetLimits {
    pub first_message_chars: usize,
    pub message_chars: usize,
    /// The longest thank-you after the end.
    pub thanks_chars: usize,
}

#[derive(Serialize, ToSchema)]
pub struct Availability {
    /// Helpers available now (online and not away) for this site's queue and language.
    pub helpers_online: usize,
    /// Median seconds to a first reply over the last day; null when there is no data.
    pub median_wait_seconds: Option<i64>,
    /// A localised sentence saying the above, ready to show.
    pub summary: String,
}

/// Dialog texts, other teams, topics, limits and honest availability for a site.
#[utoipa::path(get, path = "/v1/sites/{site}/widget", tag = "requester", params(("site" = String, Path), LangQuery),
    responses((status = 200, body = WidgetSettings), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn widget_settings(
    State(state): State<AppState>,
    Path(site_id): Path<SiteId>,
    AppQuery(query): AppQuery<LangQuery>,
    RequesterNetwork(network): RequesterNetwork,
    RequestOrigin(origin): RequestOrigin,
) -> AppResult<AppJson<WidgetSettings>> {
    state.limits.request(&network)?;
    let site = state.config.site(&site_id).ok_or(AppError::NotFound("No such site."))?;
    check_origin(&state, &site.id, origin.as_deref())?;
    let requested = match &query.lang {
        Some(lang) => Language::parse(lang)?.into_string(),
        None => site.language.clone(),
    };
    let lang = state.i18n.resolve(&requested).to_string();
    let base = requested.split('-').next().unwrap_or("en");
    let helpers_online = state.presence.available_for(&site.queue, &requested);
    let median_wait_seconds =
        state.waits.median_wait_seconds(&state.store, &site.queue, state.now_ms()).await?;
    let mut channels = state.channels();
    let mut summary = if helpers_online > 0 {
        state.i18n.format(&lang, "helpline-availability-online", &[&helpers_online.to_string()])
    } else if channels.contains(&Channel::Email) {
        // Nobody to chat with: an answer by e-mail is the better promise.
        channels.sort_by_key(|c| *c != Channel::Email);
        state.i18n.format(&lang, "helpline-availability-offline-email", &[])
    } else {
        state.i18n.format(&lang, "helpline-availability-offline", &[])
    };
    if helpers_online > 0
        && let Some(seconds) = median_wait_seconds
    {
        let minutes = ((seconds + 59) / 60).max(1);
        summary.push(' ');
        summary.push_str(&state.i18n.format(&lang, "helpline-availability-wait", &[&minutes.to_string()]));
    }
    Ok(AppJson(WidgetSettings {
        site: SiteSummary {
            id: site.id.to_string(),
            name: site.name.clone(),
            language: site.language.clone(),
        },
        dir: if RTL_LANGUAGES.contains(&base) { "rtl" } else { "ltr" },
        messages: state
            .i18n
            .messages(&lang)
            .into_iter()
            // The texts of e-mails and of the console are not the dialog's.
            .filter(|(k, _)| !k.starts_with("helpline-mail-") && !k.starts_with("helpline-console-"))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        lang,
        topics: site.topics.clone(),
        other_teams: super::catalog::other_teams(&state, &site.id).await?,
        emergency_contact: site.emergency_contact.clone(),
        limits: WidgetLimits {
            first_message_chars: state.config.limits.first_message_chars,
            message_chars: state.config.limits.message_chars,
            thanks_chars: crate::thanks::MAX_CHARS,
        },
        availability: Availability { helpers_online, median_wait_seconds, summary },
        channels,
        personal_data: state.screener.personal_data_rules().clone(),
        confirm_identity: site.oauth.is_some() && site.api_url.is_some(),
        proof_of_work: state.proof_of_work.required(),
    }))
}
