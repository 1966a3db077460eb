//! Reading pages: the current wikitext and revision of a title.

use serde_json::Value;

use super::api::{Api, WikiError};

#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The title as the wiki normalises it.
    pub title: String,
    pub text: String,
    /// The current revision, for edit-conflict detection (`baserevid`).
    pub revid: i64,
}

/// The page's current text, `None` when it does not exist.
pub async fn read(api: &Api<'_>, title: &str) -> Result<Option<Page>, WikiError> {
    let answer = api
        .get(&[
            ("action", "query"),
            ("prop", "revisions"),
            ("titles", title),
            ("rvprop", "content|ids"),
            ("rvslots", "main"),
        ])
        .await?;
    parse(&answer)
}

pub fn parse(answer: &Value) -> Result<Option<Page>, WikiError> {
    let page = answer
        .pointer("/query/pages/0")
        .ok_or_else(|| WikiError::BadAnswer("no page in the answer".into()))?;
    if page.get("invalid").is_some() {
        let why = page.get("invalidreason").and_then(Value::as_str).unwrap_or("invalid title");
        return Err(WikiError::Refused { code: "invalidtitle".into(), info: why.into() });
    }
    if page.get("missing").is_some() {
        return Ok(None);
    }
    let title = page.get("title").and_then(Value::as_str).unwrap_or_default().to_string();
    let revision = page
        .pointer("/revisions/0")
        .ok_or_else(|| WikiError::BadAnswer("a page without a revision".into()))?;
    let text = revision.pointer("/slots/main/content").and_then(Value::as_str).unwrap_or_default();
    let revid = revision.get("revid").and_then(Value::as_i64).unwrap_or_default();
    Ok(Some(Page { title, text: text.to_string(), revid }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_page_a_missing_one_and_a_bad_title() {
        let found = json!({"query":{"pages":[{"pageid":3,"ns":8,"title":"MediaWiki:Gadgets-definition",
            "revisions":[{"revid":17,"parentid":0,"slots":{"main":{"contentmodel":"wikitext","content":"* a|a.js"}}}]}]}});
        assert_eq!(
            parse(&found).unwrap(),
            Some(Page { title: "MediaWiki:Gadgets-definition".into(), text: "* a|a.js".into(), revid: 17 })
        );
        let missing = json!({"query":{"pages":[{"ns":2,"title":"User:Nobody","missing":true}]}});
        assert_eq!(parse(&missing).unwrap(), None);
        let invalid = json!({"query":{"pages":[{"title":"<","invalidreason":"The requested page title contains invalid characters","invalid":true}]}});
        assert!(matches!(parse(&invalid), Err(WikiError::Refused { .. })));
    }
}
