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

/// The accounts a page links to as users (`[[User:Name]]`, `[[User talk:Name]]`, or a
/// template that makes such a link), as the wiki parsed them: a members page. Subpages
/// count as their user.
/// At most `MAX_LINK_PAGES` answers of 500 links are read.
pub async fn user_links(api: &Api<'_>, title: &str) -> Result<Option<Vec<String>>, WikiError> {
    const MAX_LINK_PAGES: usize = 20;
    let mut names = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..MAX_LINK_PAGES {
        let mut params = vec![
            ("action", "query"),
            ("prop", "links"),
            ("titles", title),
            ("plnamespace", "2|3"),
            ("pllimit", "max"),
        ];
        if let Some(cont) = &next {
            params.push(("plcontinue", cont));
        }
        let answer = api.get(&params).await?;
        let page = answer
            .pointer("/query/pages/0")
            .ok_or_else(|| WikiError::BadAnswer("no page in the answer".into()))?;
        if page.get("missing").is_some() {
            return Ok(None);
        }
        for link in page.get("links").and_then(Value::as_array).into_iter().flatten() {
            let Some(full) = link.get("title").and_then(Value::as_str) else { continue };
            // `Benutzer:Name/Sub` on a German wiki: the namespace name is the wiki's own.
            let name = full.split_once(':').map_or(full, |(_, n)| n);
            let name = name.split('/').next().unwrap_or(name);
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        match answer.pointer("/continue/plcontinue").and_then(Value::as_str) {
            Some(cont) => next = Some(cont.to_string()),
            None => return Ok(Some(names)),
        }
    }
    Ok(Some(names))
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
