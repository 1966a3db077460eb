//! A wiki farm's own lists, so that hundreds of wikis are not configured by hand: the
//! wikis of a farm (the SiteMatrix extension's `action=sitematrix`), one wiki's own
//! description (`meta=siteinfo`), and where each wiki keeps a policy page (Wikidata's
//! sitelinks, `action=wbgetentities`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::api::{Api, WikiError};

/// One wiki of a farm, as the farm lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FarmWiki {
    /// The database name (`dewiki`): the farm's own id of the wiki.
    pub dbname: String,
    /// The project (`wiki` for Wikipedia, `wiktionary`, …) as SiteMatrix codes it.
    pub project: String,
    pub sitename: String,
    /// Its content language (`de`).
    pub lang: String,
    /// `https://de.wikipedia.org`
    pub url: String,
    /// Where `api.php` is under `url` (`/w`).
    pub script_path: Option<String>,
}

/// Every open, public wiki of the farm (closed, private and fishbowl ones are left out).
pub async fn sitematrix(api: &Api<'_>) -> Result<Vec<FarmWiki>, WikiError> {
    parse_sitematrix(&api.get(&[("action", "sitematrix"), ("smlimit", "max")]).await?)
}

pub fn parse_sitematrix(answer: &Value) -> Result<Vec<FarmWiki>, WikiError> {
    let matrix = answer.get("sitematrix").and_then(Value::as_object).ok_or_else(|| {
        WikiError::BadAnswer("no sitematrix in the answer: is SiteMatrix installed?".into())
    })?;
    let mut wikis = Vec::new();
    for (key, entry) in matrix {
        if key == "count" {
            continue;
        }
        // Language entries hold their wikis under `site`; `specials` is a list of wikis.
        let (lang, sites): (Option<&str>, Vec<&Value>) = if key == "specials" {
            (None, entry.as_array().map(|a| a.iter().collect()).unwrap_or_default())
        } else {
            let sites =
                entry.get("site").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
            (entry.get("code").and_then(Value::as_str), sites)
        };
        for site in sites {
            let flag = |k: &str| site.get(k).is_some_and(|v| v.as_bool().unwrap_or(true));
            if flag("closed") || flag("private") || flag("fishbowl") || flag("nonglobal") {
                continue;
            }
            let text = |k: &str| site.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            let lang = lang.map(str::to_string).unwrap_or_else(|| text("lang"));
            let (dbname, url) = (text("dbname"), text("url"));
            if dbname.is_empty() || url.is_empty() {
                continue;
            }
            wikis.push(FarmWiki {
                dbname,
                project: text("code"),
                sitename: text("sitename"),
                lang,
                url,
                script_path: None,
            });
        }
    }
    wikis.sort_by(|a, b| a.dbname.cmp(&b.dbname));
    Ok(wikis)
}

/// One wiki's own description of itself.
pub async fn siteinfo(api: &Api<'_>) -> Result<FarmWiki, WikiError> {
    parse_siteinfo(&api.get(&[("action", "query"), ("meta", "siteinfo"), ("siprop", "general")]).await?)
}

pub fn parse_siteinfo(answer: &Value) -> Result<FarmWiki, WikiError> {
    let general = answer
        .pointer("/query/general")
        .ok_or_else(|| WikiError::BadAnswer("no siteinfo in the answer".into()))?;
    let text = |k: &str| general.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let server = text("server");
    // A protocol-relative `//host` server is served over HTTPS.
    let url = if server.starts_with("//") { format!("https:{server}") } else { server };
    Ok(FarmWiki {
        dbname: text("wikiid"),
        project: String::new(),
        sitename: text("sitename"),
        lang: text("lang"),
        url,
        script_path: Some(text("scriptpath")),
    })
}

/// The page of each Wikidata item on each wiki: item id → (dbname → title).
pub async fn sitelinks(
    api: &Api<'_>,
    items: &[&str],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, WikiError> {
    let mut all = BTreeMap::new();
    // wbgetentities takes 50 ids a call.
    for chunk in items.chunks(50) {
        let ids = chunk.join("|");
        let answer = api.get(&[("action", "wbgetentities"), ("ids", &ids), ("props", "sitelinks")]).await?;
        all.extend(parse_sitelinks(&answer)?);
    }
    Ok(all)
}

pub fn parse_sitelinks(answer: &Value) -> Result<BTreeMap<String, BTreeMap<String, String>>, WikiError> {
    let entities = answer
        .get("entities")
        .and_then(Value::as_object)
        .ok_or_else(|| WikiError::BadAnswer("no entities in the answer".into()))?;
    let mut found = BTreeMap::new();
    for (id, entity) in entities {
        if entity.get("missing").is_some() {
            continue;
        }
        let links = entity
            .get("sitelinks")
            .and_then(Value::as_object)
            .map(|links| {
                links
                    .iter()
                    .filter_map(|(wiki, link)| {
                        link.get("title").and_then(Value::as_str).map(|t| (wiki.clone(), t.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.insert(id.clone(), links);
    }
    Ok(found)
}

/// Where the wiki's mobile site is, on a farm that keeps it on `LANG.m.PROJECT` (as
/// Wikimedia does): `https://de.m.wikipedia.org`; `None` for other hosts.
pub fn mobile_origin(url: &str) -> Option<String> {
    let (scheme, host) = url.split_once("://")?;
    let host = host.split('/').next()?;
    if host.split(':').next()?.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 3 || labels.contains(&"m") {
        return None;
    }
    Some(format!("{scheme}://{}.m.{}", labels[0], labels[1..].join(".")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mobile_origins_follow_the_farm_s_pattern_only_where_it_applies() {
        assert_eq!(mobile_origin("https://de.wikipedia.org").as_deref(), Some("https://de.m.wikipedia.org"));
        assert_eq!(mobile_origin("https://de.m.wikipedia.org"), None);
        assert_eq!(mobile_origin("http://127.0.0.1:8183"), None, "an address is no farm host");
        assert_eq!(mobile_origin("https://wiki.example"), None);
    }

    #[test]
    fn siteinfo_of_a_protocol_relative_server_is_https() {
        let answer = json!({"query":{"general":{"wikiid":"dewiki","sitename":"Wikipedia","lang":"de",
            "server":"//de.wikipedia.org","scriptpath":"/w"}}});
        let wiki = parse_siteinfo(&answer).unwrap();
        assert_eq!(
            (wiki.url.as_str(), wiki.script_path.as_deref()),
            ("https://de.wikipedia.org", Some("/w"))
        );
        assert!(parse_siteinfo(&json!({})).is_err());
    }
}
