//! The widget as served: the loader (`/widget.js?site=SITE`, wrapped with the site's
//! settings), the widget itself (`/widget/helpline.js`, `/widget/helpline.css`), the
//! demo page (`/demo`), and the MediaWiki gadget texts (`helpline gadget`). Assets are
//! embedded in the binary; there is no build step.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::config::{Config, SiteConfig};
use crate::error::AppQuery;
use crate::i18n::I18n;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/widget.js", get(loader))
        .route("/widget/helpline.js", get(widget_js))
        .route("/widget/helpline.css", get(widget_css))
        .route("/demo", get(demo_page))
        .route("/demo/demo.css", get(demo_css))
}

pub const LOADER_JS: &str = include_str!("../../web/widget/loader.js");
/// The widget's script in parts a reader can hold at once (`web/widget/helpline/`),
/// joined in name order into the one script served and put in the gadget.
pub const WIDGET_PARTS: [&str; 7] = [
    "01-tools.js",
    "02-connection.js",
    "02-proof.js",
    "03-dialog.js",
    "04-chat.js",
    "04-wiki.js",
    "05-session.js",
];
pub const WIDGET_JS: &str = concat!(
    include_str!("../../web/widget/helpline/01-tools.js"),
    include_str!("../../web/widget/helpline/02-connection.js"),
    include_str!("../../web/widget/helpline/02-proof.js"),
    include_str!("../../web/widget/helpline/03-dialog.js"),
    include_str!("../../web/widget/helpline/04-chat.js"),
    include_str!("../../web/widget/helpline/04-wiki.js"),
    include_str!("../../web/widget/helpline/05-session.js"),
);
pub const WIDGET_CSS: &str = include_str!("../../web/widget/helpline.css");
const DEMO_HTML: &str = include_str!("../../web/demo/index.html");
const DEMO_CSS: &str = include_str!("../../web/demo/demo.css");

/// The ResourceLoader module of the hidden gadget that carries the whole widget.
pub const CORE_GADGET_MODULE: &str = "ext.gadget.helpline-core";

/// What the loader needs to know, serialised into its wrapper.
#[derive(Serialize)]
struct LoaderSettings<'a> {
    server: &'a str,
    site: &'a str,
    portlet: &'a str,
    floating: bool,
    quick_exit_url: &'a str,
    /// The "Get help" label in every language we have, so the loader needs no request.
    labels: BTreeMap<String, String>,
    /// On a wiki with the gadget: the hidden gadget's module; otherwise the widget is
    /// loaded from `server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    gadget: Option<&'a str>,
}

/// The loader, wrapped with a site's settings.
pub fn loader_for(site: &SiteConfig, server: &str, i18n: &I18n, gadget: Option<&str>) -> String {
    let labels = i18n
        .languages()
        .into_iter()
        .map(|lang| (lang.to_string(), i18n.raw(lang, "helpline-dialog-title").to_string()))
        .collect();
    let settings = LoaderSettings {
        server,
        site: site.id.as_str(),
        portlet: &site.portlet,
        floating: site.floating_button,
        quick_exit_url: site.quick_exit_url.as_deref().unwrap_or("about:blank"),
        labels,
        gadget,
    };
    let json = serde_json::to_string(&settings).unwrap_or_else(|_| "{}".into());
    // `</` cannot end a script element early when the loader is inlined in a page.
    format!("{})({});\n", LOADER_JS.trim_end(), json.replace("</", "<\\/"))
}

/// The origin browsers reach this server at: `public_url`, or the request's own host.
fn server_origin(config: &Config, headers: &HeaderMap) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn asset(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct SiteQuery {
    site: String,
}

/// `GET /widget.js?site=SITE`: the loader for a page embedding the button by script tag.
pub async fn loader(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppQuery(query): AppQuery<SiteQuery>,
) -> Response {
    let Some(site) = state.config.site(&query.site) else {
        let body = format!("/* Helpline: there is no site {:?} on this server. */\n", query.site);
        let mut response = asset("text/javascript; charset=utf-8", body);
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let server = server_origin(&state.config, &headers);
    asset("text/javascript; charset=utf-8", loader_for(site, &server, &state.i18n, None))
}

pub async fn widget_js() -> Response {
    asset("text/javascript; charset=utf-8", WIDGET_JS.to_string())
}

pub async fn widget_css() -> Response {
    asset("text/css; charset=utf-8", WIDGET_CSS.to_string())
}

/// `GET /demo`: a wiki-like page with the loader embedded as a script tag.
pub async fn demo_page(State(state): State<AppState>) -> Response {
    let Some(site) = state.config.site(crate::demo::DEMO_SITE) else {
        return (StatusCode::NOT_FOUND, "The demo site is not configured on this server.").into_response();
    };
    let page =
        DEMO_HTML.replace("{{SITE_NAME}}", &html_escape(&site.name)).replace("{{SITE}}", site.id.as_str());
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
                 frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        page,
    )
        .into_response()
}

pub async fn demo_css() -> Response {
    asset("text/css; charset=utf-8", DEMO_CSS.to_string())
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The gadget pages for MediaWiki 1.39+, ready to paste: a small default-on loader and
/// a hidden gadget with the whole widget, loaded on click, so that readers' browsers
/// contact the Helpline server only after they choose to.
pub fn gadget_pages(site: &SiteConfig, server: &str, i18n: &I18n) -> Vec<(String, String)> {
    let definition = "* helpline[ResourceLoader|default|dependencies=mediawiki.util|targets=desktop,mobile]|helpline.js\n\
                      * helpline-core[ResourceLoader|hidden|targets=desktop,mobile]|helpline-core.js|helpline-core.css\n";
    // Says on the wiki which version this is and that edits here do not last: the pages
    // are the server's, brought in step by `helpline wiki install-gadget`.
    let banner = format!(
        "/* Helpline {} for site {} ({server}), installed by `helpline wiki install-gadget`. \
         Do not edit here: the next install replaces this page. */\n",
        env!("CARGO_PKG_VERSION"),
        site.id,
        server = server.replace("*/", "*%2F"),
    );
    vec![
        ("MediaWiki:Gadgets-definition".into(), definition.into()),
        (
            "MediaWiki:Gadget-helpline".into(),
            format!("{} — {}", i18n.raw("en", "helpline-dialog-title"), site.name),
        ),
        (
            "MediaWiki:Gadget-helpline-core".into(),
            "Helpline widget (loaded on click by the helpline gadget)".into(),
        ),
        (
            "MediaWiki:Gadget-helpline.js".into(),
            format!("{banner}{}", loader_for(site, server, i18n, Some(CORE_GADGET_MODULE))),
        ),
        ("MediaWiki:Gadget-helpline-core.js".into(), format!("{banner}{WIDGET_JS}")),
        ("MediaWiki:Gadget-helpline-core.css".into(), format!("{banner}{WIDGET_CSS}")),
    ]
}
