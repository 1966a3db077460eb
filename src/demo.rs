//! The demo: a site `demo` with its topics and other teams, a queue, and a helper
//! `DemoHelper`, on the configured data directory (SQLite by default).

use crate::config::{CannedReply, Config, OtherTeam, QueueConfig, SiteConfig, Topic};

pub const DEMO_SITE: &str = "demo";
pub const DEMO_QUEUE: &str = "demo";
pub const DEMO_HELPER: &str = "DemoHelper";

/// Adds the demo site and queue unless the configuration already has them; the
/// server's own origins are allowed, since the demo page is served from it.
pub fn add_demo_site(config: &mut Config, own_origins: &[String]) {
    if config.queue(DEMO_QUEUE).is_none() {
        config.queues.push(QueueConfig::new(DEMO_QUEUE, "Demo help team"));
    }
    if let Some(site) = config.sites.iter_mut().find(|s| s.id == DEMO_SITE) {
        for origin in own_origins {
            if !site.allowed_origins.contains(origin) {
                site.allowed_origins.push(origin.clone());
            }
        }
        return;
    }
    config.sites.push(demo_site(own_origins.to_vec()));
}

pub fn demo_site(allowed_origins: Vec<String>) -> SiteConfig {
    let topic = |id: &str, label: &str| Topic { id: id.into(), label: label.into() };
    let team =
        |id: &str, label: &str, description: &str, link: Option<&str>, email: Option<&str>| OtherTeam {
            id: id.into(),
            label: label.into(),
            description: description.into(),
            link: link.map(str::to_string),
            email: email.map(str::to_string),
        };
    let reply = |id: &str, lang: &str, title: &str, text: &str, link: Option<&str>| CannedReply {
        id: id.into(),
        lang: lang.into(),
        title: title.into(),
        text: text.into(),
        link: link.map(str::to_string),
    };
    SiteConfig {
        id: DEMO_SITE.into(),
        name: "Demo Wiki".into(),
        api_url: None,
        bot: None,
        oauth: None,
        language: "en".into(),
        allowed_origins,
        queue: DEMO_QUEUE.into(),
        topics: vec![
            topic("harassment", "Someone is harassing me"),
            topic("conflict", "A conflict with another editor"),
            topic("understanding", "I don't understand what is happening to me"),
            topic("other", "Something else"),
        ],
        other_teams: vec![
            team("emergency", "Emergency team", "Threats of violence or self-harm.", None, Some("emergency@example.org")),
            team("oversight", "Oversight", "Private information that must be removed from the wiki.", Some("https://example.org/wiki/Oversight"), None),
            team("legal", "Legal team", "Legal threats and legal questions.", None, Some("legal@example.org")),
            team("arbitration", "Arbitration committee", "Complaints about an administrator's conduct.", Some("https://example.org/wiki/Arbitration"), None),
        ],
        emergency_contact: "the emergency team at emergency@example.org — if you are in immediate danger, call your local emergency number (112 in Europe, 911 in North America)".into(),
        portlet: "p-tb".into(),
        floating_button: false,
        quick_exit_url: None,
        canned_replies: vec![
            reply("welcome", "en", "Welcome", "Hello, and thank you for writing to us. I am a volunteer from the help team and I have read what you wrote. You did the right thing by asking.", None),
            reply("welcome", "de", "Begrüßung", "Hallo, danke, dass du uns geschrieben hast. Ich bin ehrenamtlich im Hilfeteam und habe gelesen, was du geschrieben hast. Es war richtig, um Hilfe zu bitten.", None),
            reply("diffs", "en", "Ask for the edits", "Could you tell me the names of the pages where this happened, or paste links to the edits? Then I can look at them myself.", None),
            reply("noticeboard", "en", "Guide: the incidents noticeboard", "Reports of ongoing harassment by an editor can be made at the incidents noticeboard: https://example.org/wiki/Noticeboard/Incidents — I can help you write the report, or make it for you.", Some("https://example.org/wiki/Noticeboard/Incidents")),
            reply("civility", "en", "Guide: civility policy", "The wiki's civility policy says editors must not attack each other: https://example.org/wiki/Civility", Some("https://example.org/wiki/Civility")),
        ],
        policies: Default::default(),
        temporary_account_days: 90,
    }
}
