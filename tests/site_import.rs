//! `helpline site import`: the entries of a farm's wikis from its SiteMatrix, with each
//! wiki's policy pages from Wikidata's sitelinks — parsed from answers in the farm's
//! shape (tests/support/recorded/, the farm is not reachable here) — and of one real
//! wiki from its own siteinfo; what it prints is configuration the server accepts.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::wiki::TestWiki;

const BIN: &str = env!("CARGO_BIN_EXE_helpline");
const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/recorded");
const BASE: &str = "[[queues]]\nid = \"global\"\nname = \"Global help team\"\n\n\
    [[sites]]\nid = \"enwiki\"\nname = \"English Wikipedia\"\nlanguage = \"en\"\nqueue = \"global\"\n\
    emergency_contact = \"emergency@example.org\"\nallowed_origins = [\"https://en.wikipedia.org\"]\n";

fn helpline(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(dir.join("helpline.toml"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("HELPLINE_LOG", "warn")
        .env_remove("HELPLINE_DATABASE_URL")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr)
}

fn import(dir: &Path, source: &[&str]) -> Output {
    let mut args =
        vec!["site", "import", "--queue", "global", "--emergency-contact", "the farm's emergency team"];
    args.extend(source);
    helpline(dir, &args)
}

#[test]
fn a_farm_s_open_wikis_come_with_their_own_policy_pages_and_the_server_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("helpline.toml"), BASE).unwrap();
    let matrix = format!("{RECORDED}/sitematrix.json");
    let items = format!("{RECORDED}/wbgetentities.json");
    let out = import(
        dir.path(),
        &[
            "--sitematrix",
            &matrix,
            "--languages",
            "aa,de,en,he",
            "--policy",
            "civility=Q4654",
            "--policy",
            "npa=Q10994",
            "--wikidata",
            &items,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("# enwiki: already configured, left out"), "{printed}");
    let parsed: toml::Value = toml::from_str(&printed).unwrap();
    let sites = parsed["sites"].as_array().unwrap();
    let ids: Vec<&str> = sites.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["dewiki", "hewiki"], "aa is closed, wiktionary another project, enwiki known");
    let de = &sites[0];
    assert_eq!(de["api_url"].as_str(), Some("https://de.wikipedia.org/w/api.php"));
    let origins: Vec<&str> =
        de["allowed_origins"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    assert_eq!(origins, ["https://de.wikipedia.org", "https://de.m.wikipedia.org"]);
    assert_eq!(de["language"].as_str(), Some("de"));
    assert_eq!(de["queue"].as_str(), Some("global"));
    assert_eq!(de["policies"]["civility"].as_str(), Some("Wikipedia:Wikiquette"));
    assert!(de["policies"].get("npa").is_none(), "no German page of that item");
    assert_eq!(sites[1]["policies"]["civility"].as_str(), Some("ויקיפדיה:התנהגות נאותה"));

    // Pasted into the configuration, the server takes it: the gadget of a new site.
    std::fs::write(dir.path().join("helpline.toml"), format!("{BASE}\n{printed}")).unwrap();
    let gadget =
        helpline(dir.path(), &["gadget", "--site", "hewiki", "--server", "https://helpline.example"]);
    assert!(gadget.status.success(), "{}", text(&gadget));
    assert!(text(&gadget).contains("MediaWiki:Gadget-helpline.js"));
}

#[test]
fn bad_sources_and_arguments_are_refused_in_plain_words_and_the_configuration_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("helpline.toml"), BASE).unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "<html>not an answer</html>").unwrap();
    let out = import(dir.path(), &["--sitematrix", garbage.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("is not a JSON answer"), "{}", text(&out));
    let wrong_api = dir.path().join("wrong.json");
    std::fs::write(&wrong_api, r#"{"batchcomplete":true}"#).unwrap();
    let out = import(dir.path(), &["--sitematrix", wrong_api.to_str().unwrap()]);
    assert!(text(&out).contains("is SiteMatrix installed?"), "{}", text(&out));
    let matrix = format!("{RECORDED}/sitematrix.json");
    let out = import(dir.path(), &["--sitematrix", &matrix, "--languages", "xx"]);
    assert!(text(&out).contains("no wiki matches"), "{}", text(&out));
    let out = import(dir.path(), &["--sitematrix", &matrix, "--policy", "civility"]);
    assert!(text(&out).contains("give KEY=QID"), "{}", text(&out));
    let out = helpline(
        dir.path(),
        &["site", "import", "--sitematrix", &matrix, "--queue", "nope", "--emergency-contact", "x"],
    );
    assert!(text(&out).contains("there is no queue \"nope\""), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(dir.path().join("helpline.toml")).unwrap(), BASE);
}

#[test]
fn one_real_wiki_describes_itself() {
    let Some(wiki) = TestWiki::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("helpline.toml"), BASE).unwrap();
    let out = import(dir.path(), &["--wiki", &wiki.api()]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    let parsed: toml::Value = toml::from_str(&printed).unwrap();
    let site = &parsed["sites"][0];
    assert_eq!(site["id"].as_str(), Some("helpline_mw"));
    assert_eq!(site["api_url"].as_str(), Some(wiki.api().as_str()));
    assert_eq!(site["language"].as_str(), Some("en"));
    let origins: Vec<&str> =
        site["allowed_origins"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    assert_eq!(origins, [wiki.url.as_str()]);
    std::fs::write(dir.path().join("helpline.toml"), format!("{BASE}\n{printed}")).unwrap();
    let gadget = helpline(dir.path(), &["gadget", "--site", "helpline_mw", "--server", "http://127.0.0.1:9"]);
    assert!(gadget.status.success(), "the wiki's origin is allowed: {}", text(&gadget));
}
