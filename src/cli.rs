//! The command line. These forms are relied on by scripts and docs:
//! `serve`, `demo`, `helper add|token|list|remove`; every command takes `--config`
//! and `--data-dir`, and `HELPLINE_DATABASE_URL` overrides the database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::Server;
use crate::config::{Config, Overrides};
use crate::demo;
use crate::helpers::{self, HelperError};
use crate::store::Store;

#[derive(Parser)]
#[command(name = "helpline", version, about = "A Get-help button for wikis, answered by volunteer helpers")]
struct Cli {
    /// Configuration file (default: ./helpline.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database, generated secret).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the configured sites.
    Serve {
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Serve with a demo site, queue and helper, and print how to use them.
    Demo {
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Delete closed conversations past `retention_days` now (the server also does it hourly).
    Purge,
    /// Print the MediaWiki gadget pages (1.39+) for a site, ready to paste.
    Gadget {
        #[arg(long)]
        site: String,
        /// The URL readers' browsers reach this server at (default: `public_url`).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Write each page to its own file in DIR (named by title, `:` as `_`) and list
        /// "TITLE<TAB>FILE" lines, for scripts that install the pages.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Manage helpers.
    /// Fill the database with many invented conversations on the demo site (for
    /// benchmarks and trying the console at scale; never on a database people use).
    Seed {
        #[arg(long, default_value_t = 1_000_000)]
        conversations: u64,
    },
    Helper {
        #[command(subcommand)]
        command: HelperCommand,
    },
}

#[derive(Subcommand)]
enum HelperCommand {
    /// Add a helper, member of the given queues.
    Add {
        name: String,
        #[arg(long = "queue", value_name = "Q")]
        queues: Vec<String>,
        /// Languages the helper takes requests in (default: any).
        #[arg(long = "lang", value_name = "L")]
        languages: Vec<String>,
        /// Coordinator of these queues (statistics, members, replies and teams).
        #[arg(long)]
        coordinator: bool,
        /// Where sign-in links may be mailed (needs the [mail] section).
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
    },
    /// Set the address a helper's sign-in links may be mailed to; without one, clear it.
    Email { name: String, address: Option<String> },
    /// Print a new API token for the helper (last line of output).
    Token { name: String },
    /// Print a one-time console sign-in link for the helper (last line of output).
    Link { name: String },
    /// List helpers and their queues.
    List,
    /// Remove a helper; conversations they still owned go back to their queues.
    Remove { name: String },
}

pub fn main() -> ExitCode {
    crate::install_tls();
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HELPLINE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("helpline=info,tower_http=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let listen = match &cli.command {
        Command::Serve { listen } | Command::Demo { listen } => *listen,
        Command::Helper { .. } | Command::Purge | Command::Gadget { .. } | Command::Seed { .. } => None,
    };
    let overrides = Overrides { config_file: cli.config.clone(), listen, data_dir: cli.data_dir.clone() };
    let mut config = Config::load(&overrides)?;
    match cli.command {
        Command::Serve { .. } => {
            raise_open_file_limit();
            let server = Server::start(config).await?;
            println!("Helpline listening on {}", server.url());
            server.run_until_signal().await
        }
        Command::Demo { .. } => {
            raise_open_file_limit();
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("binding {}", config.listen))?;
            let addr = listener.local_addr()?;
            let mut origins = vec![format!("http://{addr}")];
            if addr.ip().is_loopback() {
                origins.push(format!("http://localhost:{}", addr.port()));
            }
            demo::add_demo_site(&mut config, &origins);
            if config.public_url.as_deref().is_none_or(|u| u.starts_with("http://")) {
                // The demo is served over plain HTTP: a Secure cookie would never come back.
                config.console.secure_cookies = false;
            }
            config.validate()?;
            let server = Server::start_on(config, listener).await?;
            let token = demo_helper_token(&server.state.store).await?;
            let url = server.state.config.public_url.clone().unwrap_or_else(|| server.url());
            println!("Helpline demo listening on {url}");
            println!("  demo wiki page:  {url}/demo");
            println!("  widget settings: {url}/v1/sites/demo/widget");
            println!("  API description: {url}/v1/openapi.json");
            println!("  helper queue:    curl -H 'Authorization: Bearer TOKEN' {url}/v1/helper/queue");
            println!("  metrics:         {url}/metrics");
            let demo_helper = helpers::find_by_name(&server.state.store, demo::DEMO_HELPER)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the demo helper is missing"))?;
            let link = crate::console::session::new_link(
                &server.state.store,
                &demo_helper.id,
                server.state.config.console.link_minutes,
            )
            .await?;
            println!("  helper console:  {url}/console/signin/link?token={link}  (sign-in link, works once)");
            // The token stays the last line: scripts read it, then may stop reading.
            println!("Helper {} API token:", demo::DEMO_HELPER);
            println!("{token}");
            server.run_until_signal().await
        }
        Command::Gadget { site, server, out_dir } => {
            if site == demo::DEMO_SITE {
                demo::add_demo_site(&mut config, &[]);
            }
            let site = config
                .site(&site)
                .ok_or_else(|| anyhow::anyhow!("there is no site {site:?} in the configuration"))?;
            let server = server.or_else(|| config.public_url.clone()).ok_or_else(|| {
                anyhow::anyhow!(
                    "give --server URL (or set public_url): the address readers reach Helpline at"
                )
            })?;
            let i18n = crate::i18n::I18n::load()?;
            let pages = crate::widget::gadget_pages(site, server.trim_end_matches('/'), &i18n);
            if let Some(dir) = out_dir {
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                for (title, text) in pages {
                    let path = dir.join(title.replace([':', '/'], "_"));
                    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                    println!("{title}\t{}", path.display());
                }
                return Ok(());
            }
            println!("Create or edit these pages on the wiki (as an interface administrator).");
            println!("Add the two lines to MediaWiki:Gadgets-definition; replace the other pages whole.");
            for (title, text) in pages {
                println!("\n===== {title} =====");
                print!("{text}");
                if !text.ends_with('\n') {
                    println!();
                }
            }
            Ok(())
        }
        Command::Purge => {
            let store = Store::connect(&config.database_url(), &config.sqlite_synchronous).await?;
            let purged = crate::conversations::retention::purge_expired(&store, config.retention_days).await;
            store.close().await;
            println!("Purged {} closed conversations older than {} days", purged?, config.retention_days);
            Ok(())
        }
        Command::Seed { conversations } => {
            let store = Store::connect(&config.database_url(), &config.sqlite_synchronous).await?;
            demo_helper_token(&store).await?;
            let helper = helpers::find_by_name(&store, demo::DEMO_HELPER)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the demo helper is missing"))?;
            let topics = ["harassment", "conflict", "understanding", "other"];
            let seeded = crate::seed::seed(
                &store,
                demo::DEMO_SITE,
                demo::DEMO_QUEUE,
                &topics,
                &helper.id,
                &helper.name,
                conversations,
            )
            .await?;
            store.close().await;
            println!(
                "Seeded {} conversations ({} messages) in {:.1} s",
                seeded.conversations, seeded.messages, seeded.seconds
            );
            Ok(())
        }
        Command::Helper { command } => {
            let store = Store::connect(&config.database_url(), &config.sqlite_synchronous).await?;
            let result = helper_command(&config, &store, command).await;
            store.close().await;
            result
        }
    }
}

async fn demo_helper_token(store: &Store) -> anyhow::Result<String> {
    match helpers::add(store, demo::DEMO_HELPER, &[demo::DEMO_QUEUE.to_string()], &[]).await {
        Ok(_) | Err(HelperError::Exists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    // The demo's one helper also coordinates, so the statistics can be seen.
    helpers::set_role(store, demo::DEMO_HELPER, demo::DEMO_QUEUE, "coordinator").await?;
    Ok(helpers::new_api_token(store, demo::DEMO_HELPER).await?)
}

async fn print_link(config: &Config, store: &Store, helper: &helpers::Helper) -> anyhow::Result<()> {
    let minutes = config.console.link_minutes;
    let token = crate::console::session::new_link(store, &helper.id, minutes).await?;
    println!("Console sign-in link for {} (works once, for {minutes} minutes):", helper.name);
    println!("{}/console/signin/link?token={token}", config.public_url());
    Ok(())
}

/// The server's secrets: helpers' addresses are sealed and found with them.
fn secrets(config: &Config) -> anyhow::Result<crate::secrets::Secrets> {
    Ok(crate::secrets::Secrets::new(config.load_or_create_secret()?))
}

async fn helper_command(config: &Config, store: &Store, command: HelperCommand) -> anyhow::Result<()> {
    match command {
        HelperCommand::Add { name, queues, languages, coordinator, email } => {
            for queue in &queues {
                if config.queue(queue).is_none() && queue != demo::DEMO_QUEUE {
                    anyhow::bail!("there is no queue {queue:?} in the configuration");
                }
            }
            let languages = languages
                .iter()
                .map(|l| {
                    crate::conversations::text::language(l).map_err(|e| anyhow::anyhow!(e.public_message()))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            if let Some(address) = &email {
                crate::conversations::text::email(address)
                    .map_err(|e| anyhow::anyhow!(e.public_message()))?;
            }
            let mut helper = helpers::add(store, &name, &queues, &languages).await?;
            if let Some(address) = &email {
                helpers::set_email(store, &secrets(config)?, &helper.id, Some(address)).await?;
            }
            if coordinator {
                for queue in &queues {
                    helpers::set_role(store, &name, queue, "coordinator").await?;
                }
                helper = helpers::find_by_name(store, &name).await?.unwrap_or(helper);
            }
            let roles: Vec<String> =
                helper.queues.iter().map(|m| format!("{} ({})", m.queue, m.role)).collect();
            println!("Added helper {} (queues: {})", helper.name, roles.join(", "));
            print_link(config, store, &helper).await?;
        }
        HelperCommand::Link { name } => {
            let helper = helpers::find_by_name(store, &name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no helper named {name}"))?;
            print_link(config, store, &helper).await?;
        }
        HelperCommand::Email { name, address } => {
            let helper = helpers::find_by_name(store, &name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no helper named {name}"))?;
            helpers::set_email(store, &secrets(config)?, &helper.id, address.as_deref()).await?;
            match address {
                Some(_) => println!("Sign-in links for {name} may now be sent by e-mail"),
                None => println!("No e-mail address is kept for {name} any more"),
            }
        }
        HelperCommand::Token { name } => {
            let token = helpers::new_api_token(store, &name).await?;
            println!("API token for {name} (shown once; keep it secret):");
            println!("{token}");
        }
        HelperCommand::List => {
            for h in helpers::list(store).await? {
                let queues = h
                    .queues
                    .iter()
                    .map(|m| format!("{} ({})", m.queue, m.role))
                    .collect::<Vec<_>>()
                    .join(", ");
                let langs = if h.languages.is_empty() { "any".to_string() } else { h.languages.join(",") };
                println!("{}\tqueues: {}\tlanguages: {}", h.name, queues, langs);
            }
        }
        HelperCommand::Remove { name } => {
            let helper = helpers::find_by_name(store, &name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no helper named {name}"))?;
            // The conversations' own path, so each requester is told (a running server's
            // sockets show it at their next refresh; this process has none to tell).
            let state = crate::app::AppState::build(config.clone()).await?;
            let returned =
                crate::conversations::routing::return_owned(&state, &helper.id, None, None, "helper removed")
                    .await?;
            helpers::remove(&state.store, &name).await?;
            state.store.close().await;
            println!("Removed helper {name}; {returned} open conversations went back to their queues");
        }
    }
    Ok(())
}

/// Each live socket is a file descriptor; the default soft limit (often 1024) is far
/// below what one node serves.
fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        if let Ok((soft, hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE)
            && soft < hard
        {
            let _ = rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard);
        }
    }
}
