//! `helpline site import`: `[[sites]]` entries for a farm's wikis from its own list
//! (SiteMatrix), or for one wiki from its own description (siteinfo), with each wiki's
//! policy pages from Wikidata's sitelinks — so that hundreds of wikis are not written by
//! hand. It prints; the administrator reviews and pastes into helpline.toml.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::wiki::WikiClient;
use crate::wiki::farm::{self, FarmWiki};

const WIKIDATA_API: &str = "https://www.wikidata.org/w/api.php";

#[derive(Subcommand)]
pub enum SiteCommand {
    /// Print `[[sites]]` entries for a farm's wikis (its SiteMatrix) or for one wiki (its
    /// siteinfo), ready to review and paste into helpline.toml. Sites already configured
    /// are left out.
    Import {
        /// A farm's API (e.g. https://meta.wikimedia.org/w/api.php), or a file holding
        /// its `action=sitematrix` answer.
        #[arg(long, value_name = "API_OR_FILE", required_unless_present = "wiki", conflicts_with = "wiki")]
        sitematrix: Option<String>,
        /// One wiki's API: its own description is read.
        #[arg(long, value_name = "API")]
        wiki: Option<String>,
        /// Of a farm, only this project (SiteMatrix's code: wiki, wiktionary, wikibooks…).
        #[arg(long, default_value = "wiki")]
        project: String,
        /// Of a farm, only these languages (comma-separated).
        #[arg(long, value_delimiter = ',')]
        languages: Vec<String>,
        /// Where `api.php` sits under each farm wiki's address.
        #[arg(long, default_value = "/w")]
        script_path: String,
        /// The queue their requests go to (one of helpline.toml's queues).
        #[arg(long)]
        queue: String,
        /// Who to reach in an emergency, shown to requesters (the farm's emergency team).
        #[arg(long)]
        emergency_contact: String,
        /// A policy page by its Wikidata item, KEY=QID (repeatable): each wiki's own page
        /// of that item becomes its `policies.KEY`, for canned replies' {{policy:KEY}}.
        #[arg(long = "policy", value_name = "KEY=QID", value_parser = key_and_item)]
        policies: Vec<(String, String)>,
        /// Wikidata's API, or a file holding its `action=wbgetentities` answer.
        #[arg(long, value_name = "API_OR_FILE", default_value = WIKIDATA_API)]
        wikidata: String,
    },
}

fn key_and_item(text: &str) -> Result<(String, String), String> {
    let (key, item) = text.split_once('=').ok_or("give KEY=QID, e.g. civility=Q4654")?;
    let valid_key =
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let valid_item = item.len() > 1 && item.starts_with('Q') && item[1..].bytes().all(|b| b.is_ascii_digit());
    if !valid_key || !valid_item {
        return Err(format!("{text:?}: KEY is a-z, 0-9 and -, QID is Q and digits"));
    }
    Ok((key.to_string(), item.to_string()))
}

/// One entry as printed.
#[derive(Serialize)]
struct Entry {
    id: String,
    name: String,
    language: String,
    api_url: String,
    allowed_origins: Vec<String>,
    queue: String,
    emergency_contact: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    policies: BTreeMap<String, String>,
}

pub async fn run(config: Config, command: SiteCommand) -> anyhow::Result<()> {
    let SiteCommand::Import {
        sitematrix,
        wiki,
        project,
        languages,
        script_path,
        queue,
        emergency_contact,
        policies,
        wikidata,
    } = command;
    if config.queue(queue.as_str()).is_none() {
        bail!("there is no queue {queue:?} in the configuration: define it first");
    }
    let client = WikiClient::new(crate::wiki::user_agent(&config))?;
    let wikis = match (&sitematrix, &wiki) {
        (Some(source), _) => {
            let answer = answer_of(&client, source, &[("action", "sitematrix"), ("smlimit", "max")]).await?;
            farm::parse_sitematrix(&answer)?
                .into_iter()
                .filter(|w| w.project == project)
                .filter(|w| languages.is_empty() || languages.contains(&w.lang))
                .collect()
        }
        (None, Some(api)) => {
            vec![farm::siteinfo(&client.api(api)).await.with_context(|| format!("reading {api}"))?]
        }
        (None, None) => bail!("give --sitematrix or --wiki"),
    };
    if wikis.is_empty() {
        bail!("no wiki matches: check --project and --languages");
    }
    let items: Vec<&str> = policies.iter().map(|(_, q)| q.as_str()).collect();
    let sitelinks = if items.is_empty() {
        BTreeMap::new()
    } else {
        let ids = items.join("|");
        let answer = answer_of(
            &client,
            &wikidata,
            &[("action", "wbgetentities"), ("ids", &ids), ("props", "sitelinks")],
        )
        .await?;
        farm::parse_sitelinks(&answer)?
    };
    let mut printed = 0;
    for w in &wikis {
        if config.site(&w.dbname).is_some() {
            println!("# {}: already configured, left out", w.dbname);
            continue;
        }
        let entry =
            entry(w, wiki.as_deref(), &script_path, &queue, &emergency_contact, &policies, &sitelinks);
        println!("[[sites]]\n{}", toml::to_string(&entry)?.replace("[policies]", "[sites.policies]"));
        printed += 1;
    }
    eprintln!("{printed} sites printed; review them (names, origins, emergency contact) before use.");
    Ok(())
}

fn entry(
    w: &FarmWiki,
    given_api: Option<&str>,
    script_path: &str,
    queue: &str,
    emergency_contact: &str,
    policies: &[(String, String)],
    sitelinks: &BTreeMap<String, BTreeMap<String, String>>,
) -> Entry {
    let api_url = match (given_api, &w.script_path) {
        (Some(api), _) => api.to_string(),
        (None, Some(path)) => format!("{}{path}/api.php", w.url),
        (None, None) => format!("{}{script_path}/api.php", w.url),
    };
    let mut allowed_origins = vec![w.url.clone()];
    if given_api.is_none() {
        allowed_origins.extend(farm::mobile_origin(&w.url));
    }
    let name = if w.lang.is_empty() { w.sitename.clone() } else { format!("{} ({})", w.sitename, w.lang) };
    let policies = policies
        .iter()
        .filter_map(|(key, item)| {
            sitelinks.get(item)?.get(&w.dbname).map(|title| (key.clone(), title.clone()))
        })
        .collect();
    Entry {
        id: w.dbname.clone(),
        name,
        language: w.lang.clone(),
        api_url,
        allowed_origins,
        queue: queue.to_string(),
        emergency_contact: emergency_contact.to_string(),
        policies,
    }
}

/// The answer of an API (asked with `params`), or of a file that holds one.
async fn answer_of(client: &WikiClient, source: &str, params: &[(&str, &str)]) -> anyhow::Result<Value> {
    if source.starts_with("http://") || source.starts_with("https://") {
        return client.api(source).get(params).await.with_context(|| format!("asking {source}"));
    }
    let text = std::fs::read_to_string(source).with_context(|| format!("reading {source}"))?;
    serde_json::from_str(&text).with_context(|| format!("{source} is not a JSON answer"))
}
