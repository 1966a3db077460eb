//! Helpers: their accounts (queues, roles, languages, capacity, how requesters see
//! them), their API tokens, how they prove who they are (`auth`), and how they sign in to
//! the console (`signin`, `oauth`). What is live — who is online — is in `hub::presence`.

pub mod alerts;
pub mod auth;
pub mod oauth;
pub mod routes;
pub mod signin;

use crate::domain::helper::{MAX_CAPACITY, validate_name};
use crate::domain::{DomainError, Email, Helper, HelperId, PresenceStatus, QueueId, QueueRole};
use crate::secrets;
use crate::state::AppState;
use crate::store::{self, Store};

/// Why a helper account could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error("a helper named {0} already exists")]
    Exists(String),
    #[error("no helper named {0}")]
    Unknown(String),
    #[error("{0}")]
    Invalid(#[from] DomainError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<HelperError> for crate::error::AppError {
    fn from(e: HelperError) -> Self {
        match e {
            HelperError::Exists(_) => Self::conflict("helper_exists", e.to_string()),
            HelperError::Unknown(_) => Self::bad_request("unknown_helper", e.to_string()),
            HelperError::Invalid(rule) => rule.into(),
            HelperError::Db(db) => db.into(),
        }
    }
}

/// Adds a helper, member of `queues` (as `helper`).
pub async fn add(
    store: &Store,
    now: i64,
    name: &str,
    queues: &[QueueId],
    languages: &[String],
) -> Result<Helper, HelperError> {
    let name = validate_name(name)?;
    let id = HelperId::new(secrets::new_id());
    if !store::helpers::insert(store, &id, name, queues, languages, now).await? {
        return Err(HelperError::Exists(name.to_string()));
    }
    find(store, name).await
}

/// The helper of this name, or `Unknown`.
pub async fn find(store: &Store, name: &str) -> Result<Helper, HelperError> {
    store::helpers::find_by_name(store, name).await?.ok_or_else(|| HelperError::Unknown(name.to_string()))
}

/// The helper of this name, if there is one.
pub async fn named(store: &Store, name: &str) -> sqlx::Result<Option<Helper>> {
    store::helpers::find_by_name(store, name).await
}

/// The helper of this id, if the account still exists.
pub async fn by_id(store: &Store, id: &HelperId) -> sqlx::Result<Option<Helper>> {
    let mut conn = store.read.acquire().await?;
    store::helpers::find_by_id(&mut conn, id).await
}

pub async fn list(store: &Store) -> sqlx::Result<Vec<Helper>> {
    store::helpers::list(store).await
}

/// Makes a member of a queue its coordinator or a plain helper again.
pub async fn set_role(
    store: &Store,
    name: &str,
    queue: &QueueId,
    role: QueueRole,
) -> Result<(), HelperError> {
    let helper = find(store, name).await?;
    if !store::helpers::set_role(store, &helper.id, queue, role).await? {
        return Err(
            DomainError::invalid("not_a_member", format!("{name} is not a member of queue {queue}")).into()
        );
    }
    Ok(())
}

/// Creates a new API token; only its hash is kept. The token is shown once.
pub async fn new_api_token(store: &Store, now: i64, name: &str) -> Result<String, HelperError> {
    let helper = find(store, name).await?;
    let token = secrets::new_token();
    store::helpers::insert_token(store, &token.hash, &helper.id, now).await?;
    Ok(format!("{}{}", auth::API_TOKEN_PREFIX, token.token))
}

/// Sets (or, with `None`, clears) the address a helper's sign-in links may be mailed to.
/// Stored sealed, found by its keyed hash; one helper per address.
pub async fn set_email(
    store: &Store,
    secrets: &secrets::Secrets,
    helper: &HelperId,
    address: Option<&Email>,
) -> Result<(), HelperError> {
    let lookup = address.map(|a| secrets.email_lookup(a.as_str()));
    if let Some(lookup) = &lookup
        && store::helpers::email_holder(store, lookup).await?.is_some_and(|holder| &holder != helper)
    {
        return Err(DomainError::invalid("email_taken", "another helper has this e-mail address").into());
    }
    let sealed = address.map(|a| secrets.seal(a.as_str()));
    store::helpers::set_email(store, helper, sealed.as_deref(), lookup.as_deref()).await?;
    Ok(())
}

/// The helper with this address (any capitalisation), and the address as stored.
pub async fn find_by_email(
    store: &Store,
    secrets: &secrets::Secrets,
    address: &Email,
) -> sqlx::Result<Option<(Helper, String)>> {
    let found = store::helpers::find_by_email_lookup(store, &secrets.email_lookup(address.as_str())).await?;
    Ok(found.and_then(|(helper, sealed)| secrets.open(&sealed).map(|address| (helper, address))))
}

/// Available or away, stored and told to presence on this node.
pub async fn set_presence(state: &AppState, helper: &HelperId, status: PresenceStatus) -> sqlx::Result<()> {
    let away = status == PresenceStatus::Away;
    store::helpers::set_away(&state.store, helper, away).await?;
    state.presence.set_away(helper, away);
    Ok(())
}

/// How requesters see the helper (name or team alias) and how many conversations they
/// take at once. Messages already written keep the name they were written under.
pub async fn set_preferences(
    state: &AppState,
    helper: &HelperId,
    use_alias: bool,
    capacity: i64,
) -> sqlx::Result<()> {
    store::helpers::set_shown_as_alias(&state.store, helper, use_alias).await?;
    store::helpers::set_capacity(&state.store, helper, capacity.clamp(1, MAX_CAPACITY)).await?;
    if let Some(fresh) = by_id(&state.store, helper).await? {
        state.presence.refresh(&fresh);
    }
    Ok(())
}

/// How many conversations the helper owns that are still open.
pub async fn open_count(store: &Store, helper: &HelperId) -> sqlx::Result<i64> {
    let mut conn = store.read.acquire().await?;
    store::conversations::open_count(&mut conn, helper).await
}

/// Adds an existing helper to a queue (nothing changes if they are in it).
pub async fn join_queue(store: &Store, helper: &HelperId, queue: &QueueId) -> sqlx::Result<()> {
    store::helpers::join_queue(store, helper, queue).await
}

/// Parses a list of language codes (`de, en`), every one valid or none.
pub fn parse_languages(list: &str) -> Result<Vec<String>, DomainError> {
    list.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| crate::domain::Language::parse(l).map(crate::domain::Language::into_string))
        .collect()
}
