//! "Confirm it's you": a requester proves the wiki account they are logged in with
//! through the wiki's OAuth 2.0 (authorization code with PKCE), in a window of its own,
//! and comes back to the chat. The widget's name is a claim from the browser; only this
//! makes it a verified name (what the move to the talk page needs). The requester's
//! token never goes into a URL: the chat asks for the address, the window only carries
//! the one-use `state`.

use crate::domain::Conversation;
use crate::error::{AppError, AppResult};
use crate::helpers::oauth;
use crate::secrets;
use crate::state::AppState;
use crate::store::talk_page as store;

use super::service::{Actor, Change, change_conversation};
use crate::hub::QueueEventKind;

/// Ten minutes to confirm at the wiki.
const PENDING_MS: i64 = 600_000;

pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/v1/verify/callback", state.config.public_url())
}

/// Where the requester's window goes to confirm.
pub async fn start(state: &AppState, c: &Conversation) -> AppResult<String> {
    let oauth_config = state.config.site(&c.site).and_then(|s| s.oauth.as_ref()).ok_or_else(|| {
        AppError::conflict(
            "verification_unavailable",
            state.i18n.format(&c.lang, "helpline-verify-unavailable", &[]),
        )
    })?;
    let flow = secrets::new_token();
    let verifier = secrets::new_token().token;
    store::insert_pending(&state.store, &flow.hash, &c.id, &verifier, state.now_ms() + PENDING_MS).await?;
    Ok(oauth::authorize_url(oauth_config, &redirect_uri(state), &flow.token, &verifier))
}

/// The wiki sent the window back: the account it vouches for becomes the conversation's
/// verified name. The name confirmed, or a reason for the requester.
pub async fn finish(
    state: &AppState,
    code: &str,
    flow: &str,
) -> Result<(Conversation, String), &'static str> {
    let pending = store::take_pending(&state.store, &secrets::hash_token(flow), state.now_ms()).await;
    let Ok(Some((id, verifier))) = pending else { return Err("helpline-verify-expired") };
    let Ok(Some(c)) = super::service::find(state, &id).await else { return Err("helpline-verify-expired") };
    let Some(oauth_config) = state.config.site(&c.site).and_then(|s| s.oauth.clone()) else {
        return Err("helpline-verify-unavailable");
    };
    let name = match oauth::exchange_for(state, &oauth_config, code, &verifier, &redirect_uri(state)).await {
        Ok(name) => name,
        Err(error) => {
            tracing::warn!(conversation = %c.id, %error, "confirming a requester's account failed at the wiki");
            return Err("helpline-verify-failed");
        }
    };
    if store::set_verified_name(&state.store, &c.id, &name, state.now_ms()).await.is_err() {
        return Err("helpline-verify-failed");
    }
    let text = state.i18n.format(&c.lang, "helpline-system-verified", &[&name]);
    let detail = serde_json::json!({ "name": name, "claimed": c.username });
    let changed = change_conversation(state, &c.id, Actor::REQUESTER, |_, _| {
        Ok(Change {
            system_messages: vec![text],
            action: "verified",
            detail,
            queue_event: QueueEventKind::Updated,
        })
    })
    .await;
    match changed {
        Ok(c) => Ok((c, name)),
        Err(_) => Err("helpline-verify-failed"),
    }
}
