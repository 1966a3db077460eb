//! Message catalogues in the banana format (`i18n/*.json`, as used by MediaWiki and
//! translatewiki.net), shared by the widget, the console and server-made system
//! messages. English is the fallback for a missing language or key.

use std::collections::HashMap;

use anyhow::Context;

const CATALOGUES: &[(&str, &str)] = &[
    ("en", include_str!("../i18n/en.json")),
    ("de", include_str!("../i18n/de.json")),
    ("he", include_str!("../i18n/he.json")),
];

/// Languages written right to left, for `dir="rtl"`.
pub const RTL_LANGUAGES: &[&str] =
    &["ar", "arc", "ckb", "dv", "fa", "he", "ks", "ps", "sd", "ug", "ur", "yi"];

pub struct I18n {
    catalogues: HashMap<String, HashMap<String, String>>,
}

impl I18n {
    pub fn load() -> anyhow::Result<Self> {
        let mut catalogues = HashMap::new();
        for (lang, text) in CATALOGUES {
            let mut messages: HashMap<String, serde_json::Value> =
                serde_json::from_str(text).with_context(|| format!("i18n/{lang}.json"))?;
            messages.remove("@metadata");
            let messages = messages
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => Ok((k, s)),
                    _ => Err(anyhow::anyhow!("i18n/{lang}.json: {k} is not a string")),
                })
                .collect::<anyhow::Result<_>>()?;
            catalogues.insert((*lang).to_string(), messages);
        }
        Ok(Self { catalogues })
    }

    /// The best language we have for a requested code (`de-AT` → `de`, unknown → `en`).
    pub fn resolve<'a>(&'a self, lang: &str) -> &'a str {
        let lower = lang.to_ascii_lowercase();
        let base = lower.split(['-', '_']).next().unwrap_or("en");
        self.catalogues.get_key_value(base).map_or("en", |(k, _)| k.as_str())
    }

    /// The languages with a catalogue, in order.
    pub fn languages(&self) -> Vec<&str> {
        let mut languages: Vec<&str> = self.catalogues.keys().map(String::as_str).collect();
        languages.sort_unstable();
        languages
    }

    pub fn has_language(&self, lang: &str) -> bool {
        self.catalogues.contains_key(lang)
    }

    /// The raw message text, falling back to English, then to the key itself.
    pub fn raw<'a>(&'a self, lang: &str, key: &'a str) -> &'a str {
        self.catalogues
            .get(self.resolve(lang))
            .and_then(|c| c.get(key))
            .or_else(|| self.catalogues.get("en").and_then(|c| c.get(key)))
            .map_or(key, String::as_str)
    }

    /// The message with `$1`, `$2`… replaced and `{{PLURAL:$n|one|other}}` resolved.
    pub fn format(&self, lang: &str, key: &str, params: &[&str]) -> String {
        render(self.raw(lang, key), params)
    }

    /// Every message of the language (English where missing), for clients.
    pub fn messages(&self, lang: &str) -> HashMap<&str, &str> {
        let mut out: HashMap<&str, &str> = HashMap::new();
        if let Some(en) = self.catalogues.get("en") {
            out.extend(en.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        if let Some(c) = self.catalogues.get(self.resolve(lang)) {
            out.extend(c.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        out
    }
}

fn render(template: &str, params: &[&str]) -> String {
    let mut text = template.to_string();
    // Resolve {{PLURAL:$n|one|other}} first (one/other forms; enough for en, de, he).
    while let Some(start) = text.find("{{PLURAL:") {
        let Some(len) = text[start..].find("}}") else { break };
        let inner = &text[start + 9..start + len];
        let mut parts = inner.split('|');
        let count = parts
            .next()
            .and_then(|p| p.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| params.get(n.wrapping_sub(1)))
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        let forms: Vec<&str> = parts.collect();
        let chosen = if count == 1 { forms.first() } else { forms.last() };
        let chosen = chosen.copied().unwrap_or("").to_string();
        text.replace_range(start..start + len + 2, &chosen);
    }
    substitute(&text, params)
}

/// Replaces `$1`, `$2`… in one pass, so that a value which itself holds `$2` (a name, a
/// topic: anyone's words) is shown as it is and never substituted in turn.
fn substitute(text: &str, params: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let value = after[..digits].parse::<usize>().ok().and_then(|n| params.get(n.wrapping_sub(1)));
        match value {
            Some(value) => {
                out.push_str(value);
                rest = &after[digits..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parameters_and_plurals() {
        let i18n = I18n::load().expect("catalogues load");
        assert_eq!(i18n.format("en", "helpline-availability-online", &["1"]), "One helper is online now.");
        assert_eq!(i18n.format("en", "helpline-availability-online", &["3"]), "3 helpers are online now.");
        assert_eq!(
            i18n.format("de-AT", "helpline-system-joined", &["Alice"]),
            "Alice ist dem Gespräch beigetreten."
        );
        assert_eq!(i18n.resolve("xx"), "en");
        assert_eq!(i18n.raw("xx", "helpline-dialog-title"), "Get help");
    }

    #[test]
    fn values_are_never_substituted_in_turn() {
        assert_eq!(render("$1 and $2", &["$2 costs $1", "Bob"]), "$2 costs $1 and Bob");
        assert_eq!(render("$1$1, $3, $, $x, $10", &["a"]), "aa, $3, $, $x, $10");
        assert_eq!(render("{{PLURAL:$1|one $2|many $2}}", &["1", "$1"]), "one $1");
    }

    #[test]
    fn every_catalogue_has_exactly_the_english_keys() {
        let keys = |text: &str| -> std::collections::BTreeSet<String> {
            let map: HashMap<String, serde_json::Value> = serde_json::from_str(text).expect("json");
            map.into_keys().collect()
        };
        let en = keys(include_str!("../i18n/en.json"));
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/i18n")).expect("i18n dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            let name = path.file_name().expect("name").to_string_lossy().to_string();
            let these = keys(&text);
            if name == "qqq.json" || name == "en.json" {
                assert_eq!(these, en, "{name} must document exactly the English keys");
            } else {
                let extra: Vec<_> = these.difference(&en).collect();
                let missing: Vec<_> = en.difference(&these).collect();
                assert!(
                    extra.is_empty() && missing.is_empty(),
                    "{name}: extra {extra:?}, missing {missing:?}"
                );
            }
        }
    }
}
