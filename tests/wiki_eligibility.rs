//! Who may help, decided by the community's rules on a real MediaWiki: each rule on real
//! accounts (`helpline wiki check-helper` says the verdict and why, exit 0 or 3); a helper
//! blocked on the wiki, or taken off the members page, loses the queue at the next check
//! (their conversation goes back to the queue, their live socket stops seeing it) and gets
//! it back when the wiki says so again; signing in checks at once; applying to join, and
//! a coordinator's decision with its reason.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::wiki::{TestWiki, WikiUser};
use common::{Backend, TestApp, next_matching, next_of_type};
use helpline::config::EligibilityRules;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_helpline");

fn rules(wiki_rules: &str) -> EligibilityRules {
    toml::from_str(&format!("site = \"wiki\"\n{wiki_rules}")).unwrap()
}

async fn spawn(wiki: &TestWiki, rules: EligibilityRules) -> TestApp {
    let api = wiki.api();
    TestApp::spawn_with(Backend::Sqlite, move |config| {
        config.console.secure_cookies = false;
        config.sites[0].api_url = Some(api);
        config.queues[0].eligibility = Some(rules);
    })
    .await
    .unwrap()
}

/// A user with `edits` edits of their own user page's sandbox.
async fn editor(wiki: &TestWiki, prefix: &str, groups: &[&str], edits: usize) -> WikiUser {
    let user = wiki.new_user(prefix, groups);
    let session = wiki.log_in(&user).await;
    for n in 0..edits {
        session.edit(&format!("User:{}/sandbox", user.name), &format!("edit {n}")).await;
    }
    user
}

fn check_helper(dir: &Path, wiki: &TestWiki, rules: &str, name: &str) -> (i32, String) {
    let config = format!(
        "[[queues]]\nid = \"q\"\nname = \"Helpers\"\n[queues.eligibility]\nsite = \"wiki\"\n{rules}\n\
         [[sites]]\nid = \"wiki\"\nname = \"Test Wiki\"\nlanguage = \"en\"\nqueue = \"q\"\napi_url = \"{}\"\n\
         emergency_contact = \"e@example.org\"\n",
        wiki.api()
    );
    std::fs::write(dir.join("helpline.toml"), config).unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(dir.join("helpline.toml"))
        .arg("--data-dir")
        .arg(dir)
        .args(["wiki", "check-helper", "--site", "wiki", name])
        .env_remove("HELPLINE_DATABASE_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap(), text)
}

#[tokio::test]
async fn each_rule_decides_on_real_accounts_and_check_helper_says_why() {
    let Some(wiki) = TestWiki::get() else { return };
    let dir = tempfile::tempdir().unwrap();
    let good = editor(&wiki, "Good", &["rollbacker"], 2).await;
    let no_group = editor(&wiki, "Nogroup", &[], 2).await;
    let few = editor(&wiki, "Few", &["rollbacker"], 1).await;
    let unlisted = editor(&wiki, "Unlisted", &["rollbacker"], 2).await;
    let blocked = editor(&wiki, "Blocked", &["rollbacker"], 2).await;
    let admin = wiki.admin().await;
    admin.block(&blocked.name, "Harassing other editors").await;
    let members = format!("Project:Helpers {}", good.name);
    admin
        .edit(
            &members,
            &format!(
                "* [[User:{}]]\n* [[User:{}]]\n* [[User talk:{}|talk]]\n* [[User:{}/about]]\n",
                good.name, no_group.name, few.name, blocked.name
            ),
        )
        .await;
    let all = format!("groups_any = [\"rollbacker\", \"sysop\"]\nmin_edits = 2\nlisted_on = \"{members}\"");

    let (code, out) = check_helper(dir.path(), &wiki, &all, &good.name);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "{} may help in queue q (site wiki): in the group rollbacker; 2 edits; listed on",
            good.name
        )),
        "{out}"
    );
    let (code, out) = check_helper(dir.path(), &wiki, &all, &no_group.name);
    assert_eq!((code, out.contains("not in any of the groups rollbacker, sysop")), (3, true), "{out}");
    let (code, out) = check_helper(dir.path(), &wiki, &all, &few.name);
    assert_eq!((code, out.contains("1 edits, fewer than 2")), (3, true), "{out}");
    assert!(!out.contains("not listed"), "a talk-page link counts as listed: {out}");
    let (code, out) = check_helper(dir.path(), &wiki, &all, &unlisted.name);
    assert_eq!((code, out.contains(&format!("not listed on {members}"))), (3, true), "{out}");
    let (code, out) = check_helper(dir.path(), &wiki, &all, &blocked.name);
    assert_eq!((code, out.contains("blocked on the wiki by Admin until")), (3, true), "{out}");
    assert!(out.contains("Harassing other editors"), "{out}");
    let (code, out) = check_helper(dir.path(), &wiki, "min_account_age_days = 30", &good.name);
    assert_eq!((code, out.contains("an account 0 days old, younger than 30 days")), (3, true), "{out}");
    let (code, out) = check_helper(dir.path(), &wiki, "min_edits = 1", "Nobody by this name");
    assert_eq!((code, out.contains("the wiki has no account named Nobody by this name")), (3, true), "{out}");
    let (code, out) = check_helper(dir.path(), &wiki, "listed_on = \"Project:No such page\"", &good.name);
    assert_eq!(code, 1, "a missing members page is an error, not a verdict: {out}");
    assert!(out.contains("does not exist"), "{out}");
}

#[tokio::test]
async fn a_helper_blocked_on_the_wiki_loses_the_queue_live_and_gets_it_back_when_unblocked() {
    let Some(wiki) = TestWiki::get() else { return };
    let user = editor(&wiki, "Helper", &[], 1).await;
    let mut app = spawn(&wiki, rules("min_edits = 1")).await;
    app.add_helper(&user.name, &["wiki-queue"], &[]).await;
    app.give_token(&user.name).await;
    app.recheck_eligibility().await;
    assert!(app.helper(&user.name).await.unwrap().suspended.is_empty());

    let (id, _, _) = app.start("someone keeps reverting me").await;
    assert_eq!(app.claim(&user.name, &id).await.status(), 200);
    let mut socket = app.helper_socket(&user.name).await;

    wiki.admin().await.block(&user.name, "Socket puppetry").await;
    assert!(app.recheck_eligibility().await >= 1);
    let helper = app.helper(&user.name).await.unwrap();
    assert!(helper.queues.is_empty(), "no longer works in the queue");
    assert!(helper.suspended[0].reason.contains("blocked on the wiki"), "{:?}", helper.suspended);
    next_of_type(&mut socket, "resync").await;
    let me = app.helper_json(&user.name, "/v1/helper/me").await;
    assert!(me["suspended"][0]["reason"].as_str().unwrap().contains("Socket puppetry"), "{me}");
    let status: Vec<(String,)> = app.stored("SELECT status FROM conversations WHERE id = $1", &[&id]).await;
    assert_eq!(status[0].0, "waiting", "the conversation went back to the queue");
    let refused = app.helper_get(&user.name, &format!("/v1/helper/conversations/{id}")).await;
    assert_eq!(refused.status(), 404, "nor is its text shown to them");

    // A new request of the queue does not reach the suspended helper's socket: what comes
    // next is the answer to a ping sent after the request was made.
    let (second, _, _) = app.start("another request").await;
    common::send(&mut socket, json!({"type": "ping"})).await;
    let next = next_matching(&mut socket, |f| f["type"] == "queue" || f["type"] == "pong").await;
    assert_eq!(next["type"], "pong", "no queue event of {second} for the suspended helper: {next}");

    wiki.admin().await.unblock(&user.name).await;
    assert!(app.recheck_eligibility().await >= 1);
    assert!(app.helper(&user.name).await.unwrap().is_member("wiki-queue"));
    next_of_type(&mut socket, "resync").await;
}

#[tokio::test]
async fn taken_off_the_members_page_is_out_at_the_next_check_and_signing_in_checks_at_once() {
    let Some(wiki) = TestWiki::get() else { return };
    let user = editor(&wiki, "Listed", &[], 0).await;
    let page = format!("Project:Team {}", user.name);
    let admin = wiki.admin().await;
    admin.edit(&page, &format!("Our team: [[User:{}]]", user.name)).await;
    let app = spawn(&wiki, rules(&format!("listed_on = \"{page}\""))).await;
    app.add_helper(&user.name, &["wiki-queue"], &[]).await;
    app.recheck_eligibility().await;
    assert!(app.helper(&user.name).await.unwrap().is_member("wiki-queue"));

    admin.edit(&page, "Our team: nobody yet").await;
    app.recheck_eligibility().await;
    let helper = app.helper(&user.name).await.unwrap();
    assert_eq!(helper.suspended[0].reason, format!("not listed on {page}"));

    // Back on the page: signing in is enough, no periodic check needed.
    admin.edit(&page, &format!("Our team: [[User:{}]]", user.name)).await;
    let link = app.sign_in_link(&user.name).await;
    let client = common::console::browser();
    let token = link.as_str();
    let signed_in = client
        .post(format!("{}/console/signin/link", app.url))
        .header("origin", app.url.as_str())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert!(app.helper(&user.name).await.unwrap().is_member("wiki-queue"), "checked at sign-in");
}

#[tokio::test]
async fn an_applicant_approved_by_a_coordinator_helps_and_the_reason_stays() {
    let Some(wiki) = TestWiki::get() else { return };
    let newcomer = editor(&wiki, "Newcomer", &[], 1).await;
    let declined = editor(&wiki, "Declined", &[], 1).await;
    let coordinator = editor(&wiki, "Coordinator", &["sysop"], 0).await;
    let app = spawn(&wiki, rules("groups_any = [\"sysop\"]\napproval = \"alternative\"")).await;
    app.add_helper(&coordinator.name, &["wiki-queue"], &[]).await;
    app.set_role(&coordinator.name, "wiki-queue", "coordinator").await.unwrap();
    let alice = coordinator.name.as_str();

    let id =
        app.apply_to_join("wiki-queue", &newcomer.name, "I have mediated disputes for years.").await.unwrap();
    let again = app.apply_to_join("wiki-queue", &newcomer.name, "Again").await.unwrap_err();
    assert!(again.contains("already waiting"), "{again}");
    assert!(
        app.apply_to_join("other-queue", &newcomer.name, "x")
            .await
            .unwrap_err()
            .contains("does not take applications")
    );
    assert!(app.apply_to_join("wiki-queue", &declined.name, "   ").await.unwrap_err().contains("characters"));

    assert!(app.decide_application("bob", &id, true, "ok").await.unwrap_err().contains("coordinators"));
    assert!(app.decide_application(alice, &id, true, " ").await.unwrap_err().contains("reason"));
    assert_eq!(app.decide_application(alice, &id, true, "Known mediator").await.unwrap(), "approved");
    let twice = app.decide_application(alice, &id, false, "changed my mind").await.unwrap_err();
    assert!(twice.contains("decided already"), "{twice}");
    let helper = app.helper(&newcomer.name).await.unwrap();
    assert!(helper.is_member("wiki-queue"), "approved: a member, eligible without being a sysop");
    let trail: Vec<(String,)> =
        app.stored("SELECT reason FROM queue_applications WHERE name = $1", &[&newcomer.name]).await;
    assert_eq!(trail, vec![("Known mediator".to_string(),)]);

    let other = app.apply_to_join("wiki-queue", &declined.name, "Please").await.unwrap();
    assert_eq!(
        app.decide_application(alice, &other, false, "Too new to the wiki").await.unwrap(),
        "declined"
    );
    assert!(app.helper(&declined.name).await.is_none(), "a declined applicant gets no account");

    // Blocked on the wiki: approval does not keep them in.
    wiki.admin().await.block(&newcomer.name, "Vandalism").await;
    app.recheck_eligibility().await;
    assert!(!app.helper(&newcomer.name).await.unwrap().is_member("wiki-queue"));
}
