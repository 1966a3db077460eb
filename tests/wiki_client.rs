//! The MediaWiki client against a real MediaWiki 1.39: the bot password logs in, edits
//! carry a CSRF token and land, a stale base revision is refused rather than overwritten,
//! users are looked up 50 a call, a wrong password says why; and against a wiki that is
//! busy or not there (a small stand-in server on loopback, since a real wiki cannot be
//! made to lag), calls are retried and then fail in words a helper can act on.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use common::wiki::TestWiki;
use helpline::config::BotConfig;
use helpline::wiki::{BotSession, Edit, WikiClient, WikiError};

fn client() -> WikiClient {
    WikiClient::new("Helpline-test/0 (+http://127.0.0.1; tests)".into()).unwrap()
}

fn bot(wiki: &TestWiki) -> BotSession {
    BotSession::new("Helpline-test/0", &wiki.api(), wiki.value("MW_BOT_LOGIN"), wiki.value("MW_BOT_PASS"))
        .unwrap()
}

#[tokio::test]
async fn the_bot_logs_in_and_posts_a_new_section_that_reads_back() {
    let Some(wiki) = TestWiki::get() else { return };
    let reader = wiki.new_user("Asker", &[]);
    let bot = bot(&wiki);
    bot.check().await.unwrap();
    let title = format!("User talk:{}", reader.name);
    let edited = bot
        .edit(&Edit {
            title: &title,
            text: "Hello from the help team. ~~~~",
            summary: "Helpline test",
            section_title: Some("Help from the team"),
            base_revid: None,
        })
        .await
        .unwrap();
    assert!(edited.revid.is_some());
    let page = client().page(&wiki.api(), &title).await.unwrap().unwrap();
    assert!(page.text.contains("== Help from the team =="), "{}", page.text);
    assert!(page.text.contains("Hello from the help team."));
    assert!(page.text.contains("[[User:HelplineBot|HelplineBot]]"), "signed by the bot: {}", page.text);
    assert_eq!(page.revid, edited.revid.unwrap());
}

#[tokio::test]
async fn an_edit_on_a_stale_revision_is_refused_and_the_other_change_stays() {
    let Some(wiki) = TestWiki::get() else { return };
    let title = format!("Helpline test page {}", wiki.new_user("Page", &[]).name);
    let admin = wiki.admin().await;
    admin.edit(&title, "first").await;
    let read = client().page(&wiki.api(), &title).await.unwrap().unwrap();
    admin.edit(&title, "someone else's change").await;
    let bot = bot(&wiki);
    let stale = Edit {
        title: &title,
        text: "the bot's text",
        summary: "test",
        section_title: None,
        base_revid: Some(read.revid),
    };
    let refused = bot.edit(&stale).await.unwrap_err();
    assert_eq!(refused.code(), Some("editconflict"), "{refused}");
    let now = client().page(&wiki.api(), &title).await.unwrap().unwrap();
    assert_eq!(now.text, "someone else's change");
}

#[tokio::test]
async fn users_are_looked_up_fifty_a_call_with_blocks_and_groups() {
    let Some(wiki) = TestWiki::get() else { return };
    let plain = wiki.new_user("Plain", &[]);
    let rollbacker = wiki.new_user("Roll", &["rollbacker"]);
    let blocked = wiki.new_user("Blocked", &[]);
    wiki.admin().await.block(&blocked.name, "Harassment").await;
    let mut names: Vec<String> = (0..57).map(|i| format!("Nobody {i} here")).collect();
    names.splice(10..10, [plain.name.clone()]);
    names.splice(51..51, [rollbacker.name.clone()]);
    names.push(blocked.name.clone());
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let found = client().accounts(&wiki.api(), &refs).await.unwrap();
    assert_eq!(found.len(), 60, "every name answered, across two calls");
    let by_name = |n: &str| found.iter().find(|a| a.name == n).unwrap().clone();
    assert!(by_name("Nobody 3 here").facts.is_none());
    let plain = by_name(&plain.name).facts.unwrap();
    assert!(plain.block.is_none() && plain.groups.contains(&"user".to_string()));
    assert!(by_name(&rollbacker.name).facts.unwrap().groups.contains(&"rollbacker".to_string()));
    let block = by_name(&blocked.name).facts.unwrap().block.unwrap();
    assert_eq!((block.by.as_str(), block.reason.as_str()), ("Admin", "Harassment"));
}

#[tokio::test]
async fn a_wrong_bot_password_says_why_and_a_password_the_wiki_never_takes_is_refused_at_start() {
    let Some(wiki) = TestWiki::get() else { return };
    let wrong =
        BotSession::new("t", &wiki.api(), wiki.value("MW_BOT_LOGIN"), "abcdefghijklmnopqrstuvw000000000")
            .unwrap();
    let error = wrong.check().await.unwrap_err();
    assert!(matches!(&error, WikiError::Login(why) if why.contains("Incorrect")), "{error}");
    assert!(error.to_string().starts_with("the bot account could not log in to the wiki"));

    let config = |password: &str| BotConfig {
        username: "Bot@app".into(),
        password: Some(password.into()),
        password_file: None,
    };
    assert!(config("helplinee2ebotpassword0000000000").check().is_ok());
    let xyz = config("helplinee2ebotpassword000000000xyz").check().unwrap_err();
    assert!(xyz.contains("0-9 and a-w"), "{xyz}");
    assert!(config("tooshort").check().is_err());
    let no_app = BotConfig { username: "Bot".into(), ..config("helplinee2ebotpassword0000000000") };
    assert!(no_app.check().unwrap_err().contains("Name@app"));
}

/// A stand-in for a wiki that is lagged `busy` times, then answers.
async fn lagging_wiki(busy: usize) -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let agents = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, a) = (calls.clone(), agents.clone());
    let app = Router::new().route(
        "/w/api.php",
        get(move |headers: HeaderMap| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            a.lock().unwrap().push(headers["user-agent"].to_str().unwrap().to_string());
            async move {
                if n < busy {
                    (
                        [("retry-after", "0")],
                        r#"{"errors":[{"code":"maxlag","text":"Waiting for a database server: 7 seconds lagged."}]}"#,
                    )
                } else {
                    ([("retry-after", "0")], r#"{"query":{"users":[{"name":"Nobody","missing":true}]}}"#)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/w/api.php", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls, agents)
}

#[tokio::test]
async fn a_lagged_wiki_is_asked_again_and_a_wiki_busy_throughout_is_said_to_be_busy() {
    let (url, calls, agents) = lagging_wiki(2).await;
    let found = client().accounts(&url, &["Nobody"]).await.unwrap();
    assert_eq!((found.len(), calls.load(Ordering::SeqCst)), (1, 3), "two lagged answers, then the answer");
    assert!(agents.lock().unwrap().iter().all(|a| a.contains("(+http://127.0.0.1; tests)")));

    let (url, calls, _) = lagging_wiki(usize::MAX).await;
    let error = client().accounts(&url, &["Nobody"]).await.unwrap_err();
    assert_eq!((error.clone(), calls.load(Ordering::SeqCst)), (WikiError::Busy, 3));
    assert_eq!(error.to_string(), "the wiki is busy; try again in a minute");

    let gone = client().accounts("http://127.0.0.1:9/w/api.php", &["Nobody"]).await.unwrap_err();
    assert!(matches!(gone, WikiError::Unreachable(_)), "{gone}");
    let not_api = client().page("http://127.0.0.1:9/", "X").await.unwrap_err();
    assert!(gone.to_string().starts_with("the wiki did not answer"), "{not_api}");
}
