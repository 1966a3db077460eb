//! What a wiki farm says about a global account (CentralAuth's `meta=globaluserinfo`):
//! its home wiki, global groups, and whether it is locked everywhere. Asked of the farm's
//! central API, one name a call (the module takes one).

use serde_json::Value;

use super::api::{Api, WikiError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalAccount {
    pub name: String,
    /// The database name of the home wiki (`enwiki`), where the account was made.
    pub home: Option<String>,
    pub groups: Vec<String>,
    /// Locked by the stewards: it cannot log in anywhere.
    pub locked: bool,
}

/// The global account of `name`; `None` when the farm has none (or hides it).
pub async fn look_up(api: &Api<'_>, name: &str) -> Result<Option<GlobalAccount>, WikiError> {
    let answer = api
        .get(&[("action", "query"), ("meta", "globaluserinfo"), ("guiuser", name), ("guiprop", "groups")])
        .await?;
    parse(&answer)
}

pub fn parse(answer: &Value) -> Result<Option<GlobalAccount>, WikiError> {
    let info = answer.pointer("/query/globaluserinfo").ok_or_else(|| {
        WikiError::BadAnswer("no globaluserinfo in the answer: is CentralAuth installed on that wiki?".into())
    })?;
    if info.get("missing").is_some() {
        return Ok(None);
    }
    let text = |k: &str| info.get(k).and_then(Value::as_str).map(str::to_string);
    let groups = info
        .get("groups")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok(Some(GlobalAccount {
        name: text("name").unwrap_or_default(),
        home: text("home"),
        groups,
        locked: info.get("locked").and_then(Value::as_bool).unwrap_or(false),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Recorded answers of CentralAuth's module (formatversion 2): an account with a
    /// global group, a locked one, and none.
    #[test]
    fn reads_home_groups_and_locks() {
        let found = json!({"batchcomplete":true,"query":{"globaluserinfo":{"home":"dewiki","id":4711,
            "registration":"2012-03-01T10:00:00Z","name":"Beispiel","groups":["global-rollbacker"]}}});
        assert_eq!(
            parse(&found).unwrap(),
            Some(GlobalAccount {
                name: "Beispiel".into(),
                home: Some("dewiki".into()),
                groups: vec!["global-rollbacker".into()],
                locked: false
            })
        );
        let locked = json!({"query":{"globaluserinfo":{"home":"enwiki","id":9,"registration":"2020-01-01T00:00:00Z",
            "name":"Vandal","locked":true,"groups":[]}}});
        assert!(parse(&locked).unwrap().unwrap().locked);
        let missing = json!({"query":{"globaluserinfo":{"missing":true}}});
        assert_eq!(parse(&missing).unwrap(), None);
        let no_module = json!({"batchcomplete":true});
        assert!(matches!(parse(&no_module), Err(WikiError::BadAnswer(_))));
    }
}
