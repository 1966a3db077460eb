//! `helpline wiki install-gadget` against a real MediaWiki, as a wiki's interface-admin
//! runs it: a dry run shows the diff and writes nothing; the install writes the pages and
//! only Helpline's own lines of `MediaWiki:Gadgets-definition`, keeping the wiki's other
//! gadgets; run again it changes nothing; `--check` tells an out-of-step copy; and a site
//! that does not allow its wiki's origin is refused by `install-gadget` and `gadget`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::wiki::TestWiki;
use helpline::wiki::WikiClient;

const BIN: &str = env!("CARGO_BIN_EXE_helpline");

fn write_config(dir: &Path, wiki: &TestWiki, origins: &[String]) {
    let config = format!(
        r#"public_url = "http://127.0.0.1:9999"
[[queues]]
id = "q"
name = "Helpers"
[[sites]]
id = "testwiki"
name = "Test Wiki"
language = "en"
queue = "q"
api_url = "{api}"
allowed_origins = {origins:?}
emergency_contact = "emergency@example.org"
[sites.bot]
username = "{login}"
password = "{password}"
"#,
        api = wiki.api(),
        login = wiki.value("MW_GADGET_LOGIN"),
        password = wiki.value("MW_GADGET_PASS"),
    );
    std::fs::write(dir.join("helpline.toml"), config).unwrap();
}

fn helpline(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = Command::new(BIN)
        .arg("--config")
        .arg(dir.join("helpline.toml"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("HELPLINE_DATABASE_URL")
        .output()
        .unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into(),
        String::from_utf8_lossy(&stderr).into(),
    )
}

async fn text(wiki: &TestWiki, title: &str) -> Option<(String, i64)> {
    let client = WikiClient::new("Helpline-test/0".into()).unwrap();
    client.page(&wiki.api(), title).await.unwrap().map(|p| (p.text, p.revid))
}

#[tokio::test]
async fn the_gadget_is_installed_beside_other_gadgets_idempotently_and_checked() {
    let Some(wiki) = TestWiki::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &wiki, std::slice::from_ref(&wiki.url));
    let admin = wiki.admin().await;
    let others =
        "== tools ==\n* HotCat[ResourceLoader|default]|HotCat.js\n\n== helpline ==\n* helpline|old.js";
    admin.edit("MediaWiki:Gadgets-definition", others).await;
    let (_, before) = text(&wiki, "MediaWiki:Gadgets-definition").await.unwrap();

    let (code, out, err) =
        helpline(dir.path(), &["wiki", "install-gadget", "--site", "testwiki", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("-* helpline|old.js"), "the diff shows the old line going: {out}");
    assert!(out.contains("+* helpline-core[ResourceLoader|hidden"), "{out}");
    assert!(out.contains("+++ MediaWiki:Gadget-helpline-core.js (new)"), "{out}");
    assert!(out.contains("nothing was written"));
    assert_eq!(
        text(&wiki, "MediaWiki:Gadgets-definition").await.unwrap().1,
        before,
        "a dry run writes nothing"
    );
    assert!(text(&wiki, "MediaWiki:Gadget-helpline-core.js").await.is_none());

    let (code, _, _) = helpline(dir.path(), &["wiki", "install-gadget", "--site", "testwiki", "--check"]);
    assert_eq!(code, 1, "--check says the wiki is not in step");

    let (code, out, err) = helpline(dir.path(), &["wiki", "install-gadget", "--site", "testwiki"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("6 of 6 pages written"), "{out}");
    let (definitions, revid) = text(&wiki, "MediaWiki:Gadgets-definition").await.unwrap();
    assert!(
        definitions.starts_with("== tools ==\n* HotCat[ResourceLoader|default]|HotCat.js\n"),
        "{definitions}"
    );
    assert!(!definitions.contains("old.js"));
    assert_eq!(definitions.matches("* helpline[").count(), 1);
    assert_eq!(definitions.matches("== helpline ==").count(), 1);
    let (core, _) = text(&wiki, "MediaWiki:Gadget-helpline-core.js").await.unwrap();
    assert!(core.starts_with(&format!("/* Helpline {} for site testwiki", env!("CARGO_PKG_VERSION"))));
    let (loader, _) = text(&wiki, "MediaWiki:Gadget-helpline.js").await.unwrap();
    assert!(loader.contains(r#""server":"http://127.0.0.1:9999""#));

    let (code, out, _) = helpline(dir.path(), &["wiki", "install-gadget", "--site", "testwiki"]);
    assert_eq!(code, 0);
    assert!(out.contains("in step with this server: nothing to change"), "{out}");
    assert_eq!(text(&wiki, "MediaWiki:Gadgets-definition").await.unwrap().1, revid, "no new revision");
    let (code, _, _) = helpline(dir.path(), &["wiki", "install-gadget", "--site", "testwiki", "--check"]);
    assert_eq!(code, 0);

    // Someone edits the gadget on the wiki: --check finds it, the install puts it back.
    admin.edit("MediaWiki:Gadget-helpline.js", "/* changed by hand */").await;
    assert_eq!(helpline(dir.path(), &["wiki", "install-gadget", "--site", "testwiki", "--check"]).0, 1);
    let (_, out, _) = helpline(dir.path(), &["wiki", "install-gadget", "--site", "testwiki"]);
    assert!(out.contains("1 of 6 pages written"), "{out}");

    // A site that does not allow its wiki's origin.
    write_config(dir.path(), &wiki, &["https://other.example".to_string()]);
    let (_, revid) = text(&wiki, "MediaWiki:Gadget-helpline.js").await.unwrap();
    for args in [&["wiki", "install-gadget", "--site", "testwiki"][..], &["gadget", "--site", "testwiki"][..]]
    {
        let (code, out, err) = helpline(dir.path(), args);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(err.contains(&format!("does not allow its wiki's origin {}", wiki.url)), "{err}");
        assert!(err.contains("allowed_origins"), "{err}");
    }
    assert_eq!(text(&wiki, "MediaWiki:Gadget-helpline.js").await.unwrap().1, revid);
}

#[tokio::test]
async fn a_bot_without_interface_admin_rights_is_refused_clearly_and_changes_nothing() {
    let Some(wiki) = TestWiki::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &wiki, std::slice::from_ref(&wiki.url));
    let config = std::fs::read_to_string(dir.path().join("helpline.toml")).unwrap();
    let config = config
        .replace(wiki.value("MW_GADGET_LOGIN"), wiki.value("MW_BOT_LOGIN"))
        .replace(wiki.value("MW_GADGET_PASS"), wiki.value("MW_BOT_PASS"));
    std::fs::write(dir.path().join("helpline.toml"), config).unwrap();
    let (code, out, err) = helpline(dir.path(), &["wiki", "check-bot", "--site", "testwiki"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("takes the bot password of HelplineBot"), "{out}");
    let (code, _, err) = helpline(dir.path(), &["wiki", "install-gadget", "--site", "testwiki"]);
    assert_ne!(code, 0);
    assert!(err.contains("the wiki refused"), "{err}");
}
