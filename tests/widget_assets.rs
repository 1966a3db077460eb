//! The widget as served: the loader wrapped with a site's settings, the embedded
//! assets, the demo page, and the gadget texts.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestApp};

#[tokio::test]
async fn loader_carries_the_site_settings_and_loads_nothing_else() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.sites[0].portlet = "p-personal".into();
        config.sites[0].floating_button = true;
    })
    .await
    .unwrap();
    let response = app.client.get(format!("{}/widget.js?site=wiki", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let js = response.text().await.unwrap();
    assert!(js.starts_with("/* Helpline loader"), "{}", &js[..80]);
    assert!(
        js.contains(r#""site":"wiki""#)
            && js.contains(r#""portlet":"p-personal""#)
            && js.contains(r#""floating":true"#)
    );
    assert!(js.contains(&format!(r#""server":"{}""#, app.url)));
    assert!(js.contains("Hilfe holen") && js.contains("קבלת עזרה"), "labels in every language");
    assert!(!js.contains("\"gadget\""), "script-tag mode loads the widget from the server");
    let unknown = app.client.get(format!("{}/widget.js?site=nope", app.url)).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let missing = app.client.get(format!("{}/widget.js", app.url)).send().await.unwrap();
    assert_eq!(common::error_code(missing).await, (400, "invalid_query".to_string()));

    for (path, kind, marker) in [
        ("/widget/helpline.js", "text/javascript", "window.Helpline"),
        ("/widget/helpline.css", "text/css", "#helpline-dialog"),
    ] {
        let response = app.client.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with(kind));
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert!(response.text().await.unwrap().contains(marker), "{path}");
    }
    // Without a demo site, there is no demo page.
    assert_eq!(app.client.get(format!("{}/demo", app.url)).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn demo_page_embeds_the_loader_under_a_strict_policy() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        helpline::demo::add_demo_site(config, &["http://127.0.0.1".into()]);
    })
    .await
    .unwrap();
    let response = app.client.get(format!("{}/demo", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<script src="/widget.js?site=demo"></script>"#));
    assert!(html.contains("Demo Wiki"));
}

#[test]
fn gadget_texts_carry_the_whole_widget_and_contact_the_server_only_after_a_click() {
    let i18n = helpline::i18n::I18n::load().unwrap();
    let site = helpline::demo::demo_site(vec![]);
    let pages = helpline::widget::gadget_pages(&site, "https://helpline.example.org", &i18n);
    let page = |title: &str| pages.iter().find(|(t, _)| t == title).map(|(_, text)| text.clone()).unwrap();
    let definition = page("MediaWiki:Gadgets-definition");
    assert!(definition.contains(
        "* helpline[ResourceLoader|default|dependencies=mediawiki.util|targets=desktop,mobile]|helpline.js"
    ));
    assert!(definition.contains("helpline-core[ResourceLoader|hidden|"));
    let loader = page("MediaWiki:Gadget-helpline.js");
    assert!(loader.contains(r#""gadget":"ext.gadget.helpline-core""#));
    assert!(loader.contains(r#""server":"https://helpline.example.org""#));
    // The server's widget whole, under a banner naming the version and the command that
    // keeps the wiki's copy in step.
    let banner = format!(
        "/* Helpline {} for site demo (https://helpline.example.org), installed by `helpline wiki install-gadget`.",
        env!("CARGO_PKG_VERSION")
    );
    let core = page("MediaWiki:Gadget-helpline-core.js");
    assert!(core.starts_with(&banner), "{}", &core[..200]);
    assert!(core.ends_with(helpline::widget::WIDGET_JS));
    assert_eq!(core.lines().count(), helpline::widget::WIDGET_JS.lines().count() + 1);
    let css = page("MediaWiki:Gadget-helpline-core.css");
    assert!(css.starts_with(&banner) && css.ends_with(helpline::widget::WIDGET_CSS));
    assert!(loader.starts_with(&banner));
}

/// The widget's script is its parts, every one of them, in name order: a part added to
/// `web/widget/helpline/` but not to the server's list (or the other way) fails here.
#[test]
fn the_widget_script_is_its_parts_in_name_order() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/widget/helpline");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".js"))
        .collect();
    names.sort();
    assert_eq!(names, helpline::widget::WIDGET_PARTS);
    let joined: String = names.iter().map(|n| std::fs::read_to_string(dir.join(n)).unwrap()).collect();
    assert_eq!(joined, helpline::widget::WIDGET_JS);
    assert!(joined.starts_with("/* Helpline widget") && joined.trim_end().ends_with("}());"));
}

/// The widget runs on other people's pages and shows anyone's words: it builds its DOM
/// from text only, never from markup, so that nothing it shows can become a script there.
/// (The console inserts markup, but only fragments its own server rendered through
/// escaping templates, under a policy that refuses inline script.)
#[test]
fn the_widget_has_no_html_sink() {
    for (what, source) in
        [("widget", helpline::widget::WIDGET_JS), ("loader", include_str!("../web/widget/loader.js"))]
    {
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "createContextualFragment",
            "eval(",
            "new Function",
        ] {
            assert!(!source.contains(sink), "the {what} uses {sink}");
        }
    }
}
