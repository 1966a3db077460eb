//! A global queue's rules on two real wikis of one farm: met on either is enough (the
//! helper's home wiki), a block on either counts. And a farm's global groups and locks,
//! read from CentralAuth's `meta=globaluserinfo` — through a stand-in here, a test double
//! named as such: CentralAuth needs a wiki farm's central database and Debian does not
//! package it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::routing::get;
use common::wiki::{TestWiki, WikiUser};
use common::{Backend, TestApp};
use serde_json::{Value, json};

/// Global accounts as the stand-in knows them: name → (global groups, locked).
type Globals = Arc<Mutex<HashMap<String, (Vec<String>, bool)>>>;

async fn globaluserinfo(
    State(globals): State<Globals>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::Json<Value> {
    assert_eq!(q.get("meta").map(String::as_str), Some("globaluserinfo"));
    let name = q.get("guiuser").cloned().unwrap_or_default();
    let info = match globals.lock().unwrap().get(&name) {
        Some((groups, locked)) => {
            let mut info = json!({"home": "wiki", "id": 1, "registration": "2020-01-01T00:00:00Z", "name": name, "groups": groups});
            if *locked {
                info["locked"] = json!(true);
            }
            info
        }
        None => json!({"missing": true}),
    };
    axum::Json(json!({"batchcomplete": true, "query": {"globaluserinfo": info}}))
}

async fn central_stand_in() -> (Globals, String) {
    let globals = Globals::default();
    let app = axum::Router::new().route("/api.php", get(globaluserinfo)).with_state(globals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api.php", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (globals, url)
}

async fn spawn(first: &TestWiki, second: &TestWiki, central: &str) -> TestApp {
    let (a, b) = (first.api(), second.api());
    let rules = toml::from_str(&format!(
        "site = \"wiki\"\nalso_sites = [\"other\"]\nmin_edits = 2\n\
         global_groups_any = [\"global-rollbacker\"]\ncentral_api_url = \"{central}\""
    ))
    .unwrap();
    TestApp::spawn_with(Backend::Sqlite, move |config| {
        config.sites[0].api_url = Some(a);
        config.sites[1].api_url = Some(b);
        config.queues[0].eligibility = Some(rules);
    })
    .await
    .unwrap()
}

/// The same account on the second wiki, as a farm's single login makes it.
fn same_account_on(wiki: &TestWiki, user: &WikiUser) {
    wiki.maintenance("createAndPromote.php", &["--force", &user.name, &user.password]);
}

async fn reason(app: &TestApp, name: &str) -> Option<String> {
    let helper = app.helper(name).await.unwrap();
    helper.suspended.first().map(|s| s.reason.clone())
}

#[tokio::test]
async fn met_on_the_home_wiki_is_enough_and_a_block_on_either_wiki_counts() {
    let (Some(first), Some(second)) = (TestWiki::get(), TestWiki::second()) else { return };
    let (_, central) = central_stand_in().await;
    let user = first.new_user("Farmer", &[]);
    same_account_on(&second, &user);
    let home = second.log_in(&user).await;
    for n in 0..2 {
        home.edit(&format!("User:{}/notes", user.name), &format!("note {n}")).await;
    }
    let app = spawn(&first, &second, &central).await;
    app.add_helper(&user.name, &["wiki-queue"], &[]).await;
    app.recheck_eligibility().await;
    assert_eq!(reason(&app, &user.name).await, None, "2 edits on the other wiki qualify");

    let lone = first.new_user("Lone", &[]);
    app.add_helper(&lone.name, &["wiki-queue"], &[]).await;
    app.recheck_eligibility().await;
    let why = reason(&app, &lone.name).await.unwrap();
    assert!(
        why.starts_with("on wiki: 0 edits, fewer than 2; on other: the wiki has no account named"),
        "{why}"
    );
    assert!(why.ends_with("not in any of the global groups global-rollbacker"), "{why}");

    first.admin().await.block(&user.name, "Harassment on this wiki").await;
    app.recheck_eligibility().await;
    let why = reason(&app, &user.name).await.unwrap();
    assert!(
        why.starts_with("on wiki: blocked on the wiki by Admin"),
        "a block on the other wiki counts: {why}"
    );
}

#[tokio::test]
async fn a_global_group_qualifies_and_a_global_lock_ends_it() {
    let (Some(first), Some(second)) = (TestWiki::get(), TestWiki::second()) else { return };
    let (globals, central) = central_stand_in().await;
    let user = first.new_user("Steward", &[]);
    globals.lock().unwrap().insert(user.name.clone(), (vec!["global-rollbacker".into()], false));
    let app = spawn(&first, &second, &central).await;
    app.add_helper(&user.name, &["wiki-queue"], &[]).await;
    app.recheck_eligibility().await;
    assert_eq!(reason(&app, &user.name).await, None, "no edits anywhere, but a global rollbacker");

    globals.lock().unwrap().insert(user.name.clone(), (vec!["global-rollbacker".into()], true));
    app.recheck_eligibility().await;
    assert_eq!(reason(&app, &user.name).await.as_deref(), Some("the global account is locked"));
}
