//! `helpline gadget` and `helpline wiki …`: the gadget's pages, printed or installed
//! through the API with the site's bot account; the bot account checked.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::config::{Config, SiteConfig};
use crate::demo;
use crate::wiki::{WikiClient, gadget, links};

#[derive(Subcommand)]
pub enum WikiCommand {
    /// Write the gadget's pages on the site's wiki with its bot account (an
    /// interface-admin): its scripts and styles, and its own lines of
    /// MediaWiki:Gadgets-definition (other gadgets are left alone). Pages already in
    /// step are not touched; run it again after every upgrade.
    InstallGadget {
        #[arg(long)]
        site: String,
        /// The URL readers' browsers reach this server at (default: `public_url`).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Show what would change, as a diff, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Change nothing; exit 1 when the wiki's copy is not in step with this server.
        #[arg(long, conflicts_with = "dry_run")]
        check: bool,
    },
    /// Say whether a wiki account may help in the site's queue, and why: exit 0 when it
    /// may, 3 when it may not (1 when the wiki could not be asked).
    CheckHelper {
        #[arg(long)]
        site: String,
        /// The wiki account's name.
        name: String,
    },
    /// Log in with the site's bot password and say who the wiki takes it for.
    CheckBot {
        #[arg(long)]
        site: String,
    },
}

pub async fn run(config: Config, command: WikiCommand) -> anyhow::Result<ExitCode> {
    match command {
        WikiCommand::InstallGadget { site, server, dry_run, check } => {
            install_gadget(&config, &site, server, dry_run || check, check).await
        }
        WikiCommand::CheckHelper { site, name } => check_helper(config, &site, &name).await,
        WikiCommand::CheckBot { site } => {
            let site = site_of(&config, &site)?;
            let client = WikiClient::new(crate::wiki::user_agent(&config))?;
            let bot = client.bot(site)?;
            bot.check().await?;
            println!("The wiki of site {} takes the bot password of {}.", site.id, bot.account());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Exit status of `check-helper` for an account that may not help.
const NOT_ELIGIBLE: u8 = 3;

async fn check_helper(config: Config, site: &str, name: &str) -> anyhow::Result<ExitCode> {
    let site = site_of(&config, site)?.clone();
    let queue = config.queue(&site.queue).cloned().ok_or_else(|| {
        anyhow::anyhow!("site {} sends to queue {}, which is not defined", site.id, site.queue)
    })?;
    let state = super::offline_state(config).await?;
    let verdict = crate::eligibility::verdict(&state, &queue, name).await;
    state.store.close().await;
    let verdict = verdict?;
    let (word, code) = if verdict.eligible() {
        ("may", ExitCode::SUCCESS)
    } else {
        ("may not", ExitCode::from(NOT_ELIGIBLE))
    };
    println!("{name} {word} help in queue {} (site {}): {}", queue.id, site.id, verdict.reason());
    Ok(code)
}

fn site_of<'c>(config: &'c Config, id: &str) -> anyhow::Result<&'c SiteConfig> {
    config.site(id).ok_or_else(|| anyhow::anyhow!("there is no site {id:?} in the configuration"))
}

fn server_of(config: &Config, server: Option<String>) -> anyhow::Result<String> {
    let server = server.or_else(|| config.public_url.clone()).ok_or_else(|| {
        anyhow::anyhow!("give --server URL (or set public_url): the address readers reach Helpline at")
    })?;
    Ok(server.trim_end_matches('/').to_string())
}

/// The gadget runs in the wiki's pages: it can reach Helpline only if the site allows
/// the wiki's origin. Refused here rather than found out by a reader's broken button.
fn check_origin(site: &SiteConfig) -> anyhow::Result<()> {
    let Some(api_url) = site.api_url.as_deref() else {
        eprintln!(
            "note: site {} has no api_url, so its wiki's origin cannot be checked against allowed_origins",
            site.id
        );
        return Ok(());
    };
    let origin = links::origin(api_url).with_context(|| format!("site {}: api_url {api_url:?}", site.id))?;
    if !site.allowed_origins.iter().any(|o| o == &origin) {
        bail!(
            "site {} does not allow its wiki's origin {origin}: the gadget could not reach Helpline. \
             Add allowed_origins = [\"{origin}\"] to the site (with the wiki's other host names, if any)",
            site.id
        );
    }
    Ok(())
}

/// `helpline gadget`: the pages printed, or written to files for a script.
pub fn gadget(
    mut config: Config,
    site: &str,
    server: Option<String>,
    out_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    if site == demo::DEMO_SITE {
        demo::add_demo_site(&mut config, &[]);
    }
    let site = site_of(&config, site)?;
    check_origin(site)?;
    let server = server_of(&config, server)?;
    let i18n = crate::i18n::I18n::load()?;
    let pages = crate::widget::gadget_pages(site, &server, &i18n);
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (title, text) in pages {
            let path = dir.join(title.replace([':', '/'], "_"));
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            println!("{title}\t{}", path.display());
        }
        return Ok(());
    }
    println!("Create or edit these pages on the wiki (as an interface administrator), or let");
    println!("`helpline wiki install-gadget --site {}` do it with the site's bot account.", site.id);
    println!(
        "Add the two lines to MediaWiki:Gadgets-definition, in a `{}` section; replace",
        gadget::SECTION
    );
    println!("the other pages whole.");
    for (title, text) in pages {
        println!("\n===== {title} =====");
        print!("{text}");
        if !text.ends_with('\n') {
            println!();
        }
    }
    Ok(())
}

async fn install_gadget(
    config: &Config,
    site: &str,
    server: Option<String>,
    dry_run: bool,
    check: bool,
) -> anyhow::Result<ExitCode> {
    let site = site_of(config, site)?;
    check_origin(site)?;
    let server = server_of(config, server)?;
    let pages = crate::widget::gadget_pages(site, &server, &crate::i18n::I18n::load()?);
    let client = WikiClient::new(crate::wiki::user_agent(config))?;
    let bot = client.bot(site)?;
    let plans = gadget::plan(&bot, &pages).await?;
    let changing: Vec<_> = plans.iter().filter(|p| p.changes()).collect();
    if changing.is_empty() {
        println!("The gadget on site {}'s wiki is in step with this server: nothing to change.", site.id);
        return Ok(ExitCode::SUCCESS);
    }
    if dry_run {
        for plan in &changing {
            let before = plan.current.as_deref().unwrap_or("");
            let diff = similar::TextDiff::from_lines(before, &plan.wanted);
            let (old, new) = match &plan.current {
                Some(_) => (format!("{} (on the wiki)", plan.title), format!("{} (this server)", plan.title)),
                None => ("(no page)".to_string(), format!("{} (new)", plan.title)),
            };
            print!("{}", diff.unified_diff().context_radius(2).header(&old, &new));
        }
        println!("{} of {} pages would change; nothing was written.", changing.len(), plans.len());
        return Ok(if check { ExitCode::from(1) } else { ExitCode::SUCCESS });
    }
    let summary = format!("Helpline {}: gadget for site {}", env!("CARGO_PKG_VERSION"), site.id);
    let written = gadget::apply(&bot, &plans, &summary).await?;
    for title in &written {
        println!("written: {title}");
    }
    println!("{} of {} pages written; the others were in step.", written.len(), plans.len());
    Ok(ExitCode::SUCCESS)
}
