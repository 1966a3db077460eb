//! Checks of the whole configuration at start: cross-references and values that could
//! never work fail with a clear message, not at the first request.

use anyhow::bail;

use super::Config;
use crate::domain::text::valid_config_id;

impl Config {
    /// Checks cross-references so that a typo fails at start, not at the first request.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut seen = std::collections::HashSet::new();
        for queue in &self.queues {
            if !valid_config_id(queue.id.as_str()) {
                bail!("queue id {:?} must be 1-64 of a-z, 0-9, - and _", queue.id);
            }
            if !seen.insert(&queue.id) {
                bail!("queue {} is defined twice", queue.id);
            }
            if let Some(rules) = &queue.eligibility {
                if let Err(problem) = rules.check() {
                    bail!("queue {}: eligibility: {problem}", queue.id);
                }
                for read_on in std::iter::once(&rules.site).chain(&rules.also_sites) {
                    match self.site(read_on) {
                        None => bail!(
                            "queue {}: eligibility is read on site {read_on}, which is not defined",
                            queue.id
                        ),
                        Some(site) if site.api_url.is_none() => {
                            bail!(
                                "queue {}: eligibility is read on site {}, which has no api_url",
                                queue.id,
                                site.id
                            )
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        let mut sites = std::collections::HashSet::new();
        for site in &self.sites {
            if !valid_config_id(site.id.as_str()) {
                bail!("site id {:?} must be 1-64 of a-z, 0-9, - and _", site.id);
            }
            if !sites.insert(&site.id) {
                bail!("site {} is defined twice", site.id);
            }
            if !self.queues.iter().any(|q| q.id == site.queue) {
                bail!("site {} sends to queue {}, which is not defined", site.id, site.queue);
            }
            if let Some(url) = &site.quick_exit_url
                && !(url.starts_with("https://") || url.starts_with("http://") || url == "about:blank")
            {
                bail!("site {}: quick_exit_url must be an http(s) URL or about:blank", site.id);
            }
            for reply in &site.canned_replies {
                if let Err(problem) = reply.check() {
                    bail!("site {}: canned reply {:?}: {problem}", site.id, reply.id);
                }
                if site.canned_replies.iter().filter(|r| r.id == reply.id && r.lang == reply.lang).count() > 1
                {
                    bail!("site {}: canned reply {} is defined twice in {}", site.id, reply.id, reply.lang);
                }
            }
            for team in &site.other_teams {
                if let Err(problem) = team.check() {
                    bail!("site {}: other team {:?}: {problem}", site.id, team.id);
                }
                if site.other_teams.iter().filter(|t| t.id == team.id).count() > 1 {
                    bail!("site {}: other team {} is defined twice", site.id, team.id);
                }
            }
            if let Some(bot) = &site.bot {
                if site.api_url.is_none() {
                    bail!("site {}: a bot account needs the site's api_url", site.id);
                }
                if let Err(problem) = bot.check() {
                    bail!("site {}: {problem}", site.id);
                }
            }
            if site.emergency_contact.trim().is_empty() {
                bail!("site {} needs an emergency_contact", site.id);
            }
            for origin in &site.allowed_origins {
                if !(origin.starts_with("https://") || origin.starts_with("http://")) || origin.ends_with('/')
                {
                    bail!("site {}: allowed origin {origin:?} must look like https://host[:port]", site.id);
                }
            }
        }
        if !matches!(self.sqlite_synchronous.as_str(), "full" | "normal") {
            bail!("sqlite_synchronous must be \"full\" or \"normal\"");
        }
        if self.retention_days < self.reopen_days {
            bail!(
                "retention_days must be at least reopen_days, or a conversation could vanish while its requester may still come back"
            );
        }
        if self.routing.auto_offer && self.routing.offer_seconds == 0 {
            bail!("routing.offer_seconds must be positive when routing.auto_offer is on");
        }
        if self.console.session_hours == 0 || self.console.link_minutes == 0 {
            bail!("console.session_hours and console.link_minutes must be positive");
        }
        if let Some(oauth) = &self.console.oauth {
            let custom =
                oauth.authorize_url.is_some() && oauth.token_url.is_some() && oauth.profile_url.is_some();
            match oauth.provider.as_deref() {
                Some("wikimedia") if oauth.authorize_url.is_none() => {}
                None if custom => {}
                _ => bail!(
                    "console.oauth: set provider = \"wikimedia\", or give authorize_url, token_url and profile_url"
                ),
            }
            if oauth.client_id.trim().is_empty() {
                bail!("console.oauth.client_id is empty");
            }
        }
        if self.wiki.recheck_minutes == 0 {
            bail!("wiki.recheck_minutes must be positive");
        }
        if let Some(mail) = &self.mail {
            mail.check()?;
            if let Some(site) = &mail.inbound_site
                && self.site(site).is_none()
            {
                bail!("mail.inbound_site {site} is not defined");
            }
        }
        if self.limits.first_message_chars == 0 || self.limits.message_chars == 0 {
            bail!("message limits must be positive");
        }
        if self.limits.header_read_seconds == 0 || self.limits.request_seconds == 0 {
            bail!("limits.header_read_seconds and limits.request_seconds must be positive");
        }
        let pow = &self.proof_of_work;
        if pow.max_number == 0 || pow.max_number > 10_000_000 {
            bail!("proof_of_work.max_number must be between 1 and 10000000");
        }
        if pow.waiting_above == 0 || pow.expires_seconds == 0 {
            bail!("proof_of_work.waiting_above and proof_of_work.expires_seconds must be positive");
        }
        Ok(())
    }
}
