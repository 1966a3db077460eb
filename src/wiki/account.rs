//! What a wiki says about accounts (`list=users`): age, edits, groups, blocks, whether
//! it takes e-mail. Looked up in batches of at most 50 names a call, the API's limit for
//! clients without `apihighlimits`.

use serde::Deserialize;
use serde_json::Value;

use super::api::{Api, WikiError};

/// Names per `list=users` call.
pub const BATCH: usize = 50;

#[derive(Clone, Debug, PartialEq)]
pub struct WikiAccount {
    /// The name as the wiki spells it.
    pub name: String,
    /// `None` when the wiki has no account of that name.
    pub facts: Option<AccountFacts>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AccountFacts {
    /// ISO 8601, as the wiki gives it; `None` for very old accounts.
    pub registered: Option<String>,
    pub edit_count: i64,
    /// Explicit and implicit groups, without `*` (everyone).
    pub groups: Vec<String>,
    pub block: Option<BlockFacts>,
    /// The account has a confirmed address and accepts e-mail from other users.
    pub emailable: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BlockFacts {
    pub by: String,
    pub reason: String,
    /// `infinite` or an ISO 8601 time.
    pub expiry: String,
    pub partial: bool,
}

#[derive(Deserialize)]
struct ApiUser {
    name: String,
    #[serde(default)]
    missing: bool,
    #[serde(default)]
    invalid: bool,
    editcount: Option<i64>,
    registration: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    blockid: Option<i64>,
    blockedby: Option<String>,
    blockreason: Option<String>,
    blockexpiry: Option<String>,
    #[serde(default)]
    blockpartial: bool,
    #[serde(default)]
    emailable: bool,
}

impl From<ApiUser> for WikiAccount {
    fn from(user: ApiUser) -> Self {
        if user.missing || user.invalid {
            return Self { name: user.name, facts: None };
        }
        let block = user.blockid.map(|_| BlockFacts {
            by: user.blockedby.unwrap_or_default(),
            reason: user.blockreason.unwrap_or_default(),
            expiry: user.blockexpiry.unwrap_or_default(),
            partial: user.blockpartial,
        });
        Self {
            name: user.name,
            facts: Some(AccountFacts {
                registered: user.registration,
                edit_count: user.editcount.unwrap_or(0),
                groups: user.groups.into_iter().filter(|g| g != "*").collect(),
                block,
                emailable: user.emailable,
            }),
        }
    }
}

/// Reads an answer of `list=users` (`formatversion=2`), in the order the wiki gives.
pub fn parse(answer: &Value) -> Result<Vec<WikiAccount>, WikiError> {
    let users = answer
        .pointer("/query/users")
        .cloned()
        .ok_or_else(|| WikiError::BadAnswer("no users in the answer".into()))?;
    let users: Vec<ApiUser> =
        serde_json::from_value(users).map_err(|e| WikiError::BadAnswer(format!("users: {e}")))?;
    Ok(users.into_iter().map(WikiAccount::from).collect())
}

/// Looks up every name, `BATCH` a call. Names the wiki does not know come back without
/// facts; the wiki's spelling of each name is its `name`.
pub async fn look_up(api: &Api<'_>, names: &[&str]) -> Result<Vec<WikiAccount>, WikiError> {
    let mut found = Vec::with_capacity(names.len());
    for batch in names.chunks(BATCH) {
        let list = batch.join("|");
        let answer = api
            .get(&[
                ("action", "query"),
                ("list", "users"),
                ("ususers", &list),
                ("usprop", "blockinfo|groups|editcount|registration|emailable"),
            ])
            .await?;
        found.extend(parse(&answer)?);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(json: &str) -> WikiAccount {
        parse(&serde_json::from_str(json).unwrap()).unwrap().remove(0)
    }

    #[test]
    fn reads_an_account_a_missing_name_and_a_block() {
        let found = one(
            r#"{"batchcomplete":true,"query":{"users":[{"userid":2,"name":"Reader","editcount":12,
            "registration":"2024-05-01T10:00:00Z","groups":["*","user","autoconfirmed"],"emailable":true}]}}"#,
        );
        let facts = found.facts.unwrap();
        assert_eq!((facts.edit_count, facts.groups.join(",")), (12, "user,autoconfirmed".to_string()));
        assert!(facts.block.is_none() && facts.emailable);

        let missing = one(r#"{"query":{"users":[{"name":"Nobody","missing":true}]}}"#);
        assert_eq!(missing, WikiAccount { name: "Nobody".into(), facts: None });

        let blocked = one(
            r#"{"query":{"users":[{"userid":3,"name":"Troll","editcount":1,"registration":null,"groups":["*","user"],
            "blockid":7,"blockedby":"Admin","blockedbyid":1,"blockreason":"Harassment","blockedtimestamp":"2026-01-01T00:00:00Z",
            "blockexpiry":"infinite","blockpartial":false}]}}"#,
        );
        let block = blocked.facts.unwrap().block.unwrap();
        assert_eq!(
            (block.by.as_str(), block.reason.as_str(), block.expiry.as_str()),
            ("Admin", "Harassment", "infinite")
        );
        assert!(parse(&serde_json::json!({"batchcomplete": true})).is_err());
    }
}
