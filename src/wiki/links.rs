//! Links into a wiki about an account, for the helper: canonical (English) namespace and
//! special page names, which work on every wiki whatever its language.

use reqwest::Url;

/// A link into the wiki about the account.
pub struct WikiLink {
    /// The message key of its label.
    pub key: &'static str,
    pub url: String,
}

/// The wiki's `index.php` beside its `api.php`.
fn index_url(api_url: &str) -> Option<String> {
    api_url.strip_suffix("api.php").map(|base| format!("{base}index.php"))
}

/// User page, talk page, contributions and block log.
pub fn links(api_url: &str, name: &str) -> Vec<WikiLink> {
    let Some(index) = index_url(api_url) else { return Vec::new() };
    let page = |key: &'static str, params: &[(&str, String)]| {
        Url::parse_with_params(&index, params).ok().map(|url| WikiLink { key, url: url.to_string() })
    };
    [
        page("helpline-console-wiki-user-page", &[("title", format!("User:{name}"))]),
        page("helpline-console-wiki-talk-page", &[("title", format!("User_talk:{name}"))]),
        page("helpline-console-wiki-contributions", &[("title", format!("Special:Contributions/{name}"))]),
        page(
            "helpline-console-wiki-block-log",
            &[
                ("title", "Special:Log".to_string()),
                ("type", "block".to_string()),
                ("page", format!("User:{name}")),
            ],
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A page of the wiki, at a section when given (a new section's anchor is its title).
pub fn page_url(api_url: &str, title: &str, section: Option<&str>) -> Option<String> {
    let mut url = Url::parse_with_params(&index_url(api_url)?, &[("title", title.replace(' ', "_"))]).ok()?;
    if let Some(section) = section {
        url.set_fragment(Some(&section.replace(' ', "_")));
    }
    Some(url.to_string())
}

/// `scheme://host[:port]` of a URL: what a browser sends as `Origin` from that site.
pub fn origin(url: &str) -> Option<String> {
    let origin = Url::parse(url).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The change made by one revision.
pub fn diff_url(api_url: &str, revid: i64) -> Option<String> {
    let url = Url::parse_with_params(&index_url(api_url)?, &[("diff", revid.to_string())]).ok()?;
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_encoded_and_canonical() {
        let links = links("https://de.wikipedia.org/w/api.php", "Jörg & Co");
        assert_eq!(links.len(), 4);
        assert_eq!(links[0].url, "https://de.wikipedia.org/w/index.php?title=User%3AJ%C3%B6rg+%26+Co");
        assert!(links[3].url.contains("type=block"));
        assert!(super::links("https://wiki.example/rest.php", "X").is_empty());
    }

    #[test]
    fn pages_and_diffs() {
        let api = "https://wiki.example/w/api.php";
        assert_eq!(
            page_url(api, "User talk:Jörg", Some("Help from the team")).as_deref(),
            Some("https://wiki.example/w/index.php?title=User_talk%3AJ%C3%B6rg#Help_from_the_team")
        );
        assert_eq!(diff_url(api, 42).as_deref(), Some("https://wiki.example/w/index.php?diff=42"));
        assert_eq!(diff_url("https://wiki.example/rest.php", 1), None);
        assert_eq!(origin("http://127.0.0.1:8181/api.php").as_deref(), Some("http://127.0.0.1:8181"));
        assert_eq!(
            origin("https://de.wikipedia.org:443/w/api.php").as_deref(),
            Some("https://de.wikipedia.org")
        );
        assert_eq!(origin("not a url"), None);
    }
}
