//! The command line. These forms are relied on by scripts and docs:
//! `serve`, `demo`, `helper add|token|link|list|remove`; every command takes `--config`,
//! `--data-dir` and `--listen`, and `HELPLINE_DATABASE_URL` overrides the database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

mod mail;
mod site;
mod wiki;

use crate::app::Server;
use crate::clock::Clock;
use crate::config::{Config, Overrides};
use crate::demo;
use crate::domain::{Email, Language, QueueId, QueueRole};
use crate::helpers::{self, HelperError, signin};
use crate::state::AppState;
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
    /// The address to serve on; for other commands, the server's address in the links
    /// they print (default: `public_url`, else the address the server last served on).
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the configured sites.
    Serve,
    /// Serve with a demo site, queue and helper, and print how to use them.
    Demo,
    /// Delete closed conversations past `retention_days` now (the server also does it hourly).
    Purge {
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy the SQLite database to FILE while the server runs (and the secret key beside
    /// it, as FILE.secret.key). For PostgreSQL use pg_dump.
    Backup {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
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
    /// Hand one mail on standard input to the running server (an MTA's pipe): exit 0
    /// stored or ignored, 65 not a mail, 75 try again later.
    MailIn {
        /// The server's address (default: `public_url`, else where it last served).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
    },
    /// Configure sites from a wiki farm's own lists.
    Site {
        #[command(subcommand)]
        command: site::SiteCommand,
    },
    /// Work with the sites' wikis: install the gadget, check the bot account and helpers.
    Wiki {
        #[command(subcommand)]
        command: wiki::WikiCommand,
    },
    /// Fill the database with many invented conversations on the demo site (for
    /// benchmarks and trying the console at scale; never on a database people use).
    Seed {
        #[arg(long, default_value_t = 1_000_000)]
        conversations: u64,
    },
    /// Manage helpers.
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
        Ok(code) => code,
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

/// What the command did; its exit status (most succeed or fail, a few report a verdict).
async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides =
        Overrides { config_file: cli.config.clone(), listen: cli.listen, data_dir: cli.data_dir.clone() };
    let mut config = Config::load(&overrides)?;
    if matches!(cli.command, Command::Helper { .. }) && cli.listen.is_none() {
        // Links printed beside a running server name the address it serves on.
        config.adopt_served_url();
    }
    let done = match cli.command {
        Command::Serve => serve(config).await,
        Command::Demo => run_demo(config).await,
        Command::Gadget { site, server, out_dir } => wiki::gadget(config, &site, server, out_dir),
        Command::Wiki { command } => return wiki::run(config, command).await,
        Command::Site { command } => site::run(config, command).await,
        Command::MailIn { server } => return mail::mail_in(config, server).await,
        Command::Purge { dry_run: false } => {
            let state = offline_state(config).await?;
            let purged = crate::conversations::retention::purge_expired(&state).await;
            state.store.close().await;
            println!(
                "Purged {} closed conversations older than {} days",
                purged?, state.config.retention_days
            );
            Ok(())
        }
        Command::Purge { dry_run: true } => {
            let state = offline_state(config).await?;
            let counted = crate::conversations::retention::past_retention(&state).await;
            state.store.close().await;
            let (conversations, messages) = counted?;
            println!(
                "Would purge {conversations} closed conversations ({messages} messages) older than {} days; nothing was deleted",
                state.config.retention_days
            );
            Ok(())
        }
        Command::Backup { file } => backup(config, &file).await,
        Command::Seed { conversations } => seed(config, conversations).await,
        Command::Helper { command } => {
            let state = offline_state(config).await?;
            let result = helper_command(&state, command).await;
            state.store.close().await;
            result
        }
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// An online copy of the SQLite database, and of the secret that unlocks its e-mail
/// addresses (only when it is the data directory's file).
async fn backup(config: Config, file: &std::path::Path) -> anyhow::Result<()> {
    let store = crate::store::Store::connect(&config.database_url(), &config.sqlite_synchronous).await?;
    let copied = store.backup_into(file).await;
    store.close().await;
    copied?;
    println!("Database copied to {}", file.display());
    let key = config.data_dir.join("secret.key");
    if config.secret_key.is_none() && key.exists() {
        let mut key_copy = file.as_os_str().to_owned();
        key_copy.push(".secret.key");
        let key_copy = PathBuf::from(key_copy);
        std::fs::copy(&key, &key_copy)?;
        #[cfg(unix)]
        std::fs::set_permissions(&key_copy, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        println!("Secret key copied to {} (keep it as private as the database)", key_copy.display());
    } else {
        println!("The secret key is set in the configuration: back it up with the configuration");
    }
    Ok(())
}

/// The shared state without a server, for commands that change the store.
async fn offline_state(config: Config) -> anyhow::Result<AppState> {
    Ok(AppState::build(config, Clock::system()).await?.0)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    raise_open_file_limit();
    let server = Server::start(config).await?;
    server.state.config.record_served_url()?;
    println!("Helpline listening on {}", server.url());
    server.run_until_signal().await
}

async fn run_demo(mut config: Config) -> anyhow::Result<()> {
    raise_open_file_limit();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let mut origins = vec![format!("http://{addr}")];
    if addr.ip().is_loopback() {
        origins.push(format!("http://localhost:{}", addr.port()));
    }
    // Behind a proxy, the demo page is opened at the public address: its widget calls come from there.
    if let Some(origin) = config.public_url.as_deref().and_then(crate::wiki::links::origin) {
        origins.push(origin);
    }
    demo::add_demo_site(&mut config, &origins);
    if config.public_url.as_deref().is_none_or(|u| u.starts_with("http://")) {
        // The demo is served over plain HTTP: a Secure cookie would never come back.
        config.console.secure_cookies = false;
    }
    config.validate()?;
    let server = Server::start_on(config, Clock::system(), listener).await?;
    let state = &server.state;
    state.config.record_served_url()?;
    let token = demo_helper_token(state).await?;
    let url = state.config.public_url();
    println!("Helpline demo listening on {url}");
    println!("  demo wiki page:  {url}/demo");
    println!("  widget settings: {url}/v1/sites/demo/widget");
    println!("  API description: {url}/v1/openapi.json");
    println!("  helper queue:    curl -H 'Authorization: Bearer TOKEN' {url}/v1/helper/queue");
    println!("  metrics:         {url}/metrics");
    let demo_helper = helpers::find(&state.store, demo::DEMO_HELPER).await?;
    let link = signin::new_link(&state.store, &state.config.console, &demo_helper.id, state.now_ms()).await?;
    println!("  helper console:  {}  (sign-in link, works once)", signin::link_url(&url, &link));
    // The token stays the last line: scripts read it, then may stop reading.
    println!("Helper {} API token:", demo::DEMO_HELPER);
    println!("{token}");
    server.run_until_signal().await
}

async fn seed(config: Config, conversations: u64) -> anyhow::Result<()> {
    let state = offline_state(config).await?;
    demo_helper_token(&state).await?;
    let helper = helpers::find(&state.store, demo::DEMO_HELPER).await?;
    let topics = ["harassment", "conflict", "understanding", "other"];
    let seeded = crate::store::seed::seed(
        &state.store,
        demo::DEMO_SITE,
        demo::DEMO_QUEUE,
        &topics,
        &helper.id,
        &helper.name,
        conversations,
    )
    .await?;
    state.store.close().await;
    println!(
        "Seeded {} conversations ({} messages) in {:.1} s",
        seeded.conversations, seeded.messages, seeded.seconds
    );
    Ok(())
}

/// The demo's one helper (made if missing), who also coordinates, so the statistics
/// can be seen; a new API token for them.
async fn demo_helper_token(state: &AppState) -> anyhow::Result<String> {
    let queue = QueueId::from(demo::DEMO_QUEUE);
    match helpers::add(&state.store, state.now_ms(), demo::DEMO_HELPER, std::slice::from_ref(&queue), &[])
        .await
    {
        Ok(_) | Err(HelperError::Exists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    helpers::set_role(&state.store, demo::DEMO_HELPER, &queue, QueueRole::Coordinator).await?;
    Ok(helpers::new_api_token(&state.store, state.now_ms(), demo::DEMO_HELPER).await?)
}

async fn print_link(state: &AppState, helper: &crate::domain::Helper) -> anyhow::Result<()> {
    let minutes = state.config.console.link_minutes;
    let token = signin::new_link(&state.store, &state.config.console, &helper.id, state.now_ms()).await?;
    println!("Console sign-in link for {} (works once, for {minutes} minutes):", helper.name);
    println!("{}", signin::link_url(&state.config.public_url(), &token));
    Ok(())
}

async fn add_helper(
    state: &AppState,
    name: &str,
    queues: Vec<String>,
    languages: &[String],
    coordinator: bool,
    email: Option<&str>,
) -> anyhow::Result<()> {
    let queues: Vec<QueueId> = queues.into_iter().map(QueueId::from).collect();
    for queue in &queues {
        if state.config.queue(queue).is_none() && queue != demo::DEMO_QUEUE {
            anyhow::bail!("there is no queue {queue:?} in the configuration");
        }
    }
    let languages = languages
        .iter()
        .map(|l| Language::parse(l).map(Language::into_string))
        .collect::<Result<Vec<_>, _>>()?;
    let email = email.map(Email::parse).transpose()?;
    let mut helper = helpers::add(&state.store, state.now_ms(), name, &queues, &languages).await?;
    if let Some(address) = &email {
        helpers::set_email(&state.store, &state.secrets, &helper.id, Some(address)).await?;
    }
    if coordinator {
        for queue in &queues {
            helpers::set_role(&state.store, name, queue, QueueRole::Coordinator).await?;
        }
        helper = helpers::find(&state.store, name).await?;
    }
    let roles: Vec<String> =
        helper.queues.iter().map(|m| format!("{} ({})", m.queue, m.role.as_str())).collect();
    println!("Added helper {} (queues: {})", helper.name, roles.join(", "));
    print_link(state, &helper).await
}

async fn helper_command(state: &AppState, command: HelperCommand) -> anyhow::Result<()> {
    let store: &Store = &state.store;
    match command {
        HelperCommand::Add { name, queues, languages, coordinator, email } => {
            add_helper(state, &name, queues, &languages, coordinator, email.as_deref()).await?;
        }
        HelperCommand::Link { name } => print_link(state, &helpers::find(store, &name).await?).await?,
        HelperCommand::Email { name, address } => {
            let helper = helpers::find(store, &name).await?;
            let address = address.as_deref().map(Email::parse).transpose()?;
            helpers::set_email(store, &state.secrets, &helper.id, address.as_ref()).await?;
            match address {
                Some(_) => println!("Sign-in links for {name} may now be sent by e-mail"),
                None => println!("No e-mail address is kept for {name} any more"),
            }
        }
        HelperCommand::Token { name } => {
            let token = helpers::new_api_token(store, state.now_ms(), &name).await?;
            println!("API token for {name} (shown once; keep it secret):");
            println!("{token}");
        }
        HelperCommand::List => {
            for h in helpers::list(store).await? {
                let queues = h
                    .queues
                    .iter()
                    .map(|m| format!("{} ({})", m.queue, m.role.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let langs = if h.languages.is_empty() { "any".to_string() } else { h.languages.join(",") };
                println!("{}\tqueues: {}\tlanguages: {}", h.name, queues, langs);
            }
        }
        HelperCommand::Remove { name } => {
            // The conversations' own path, so each requester is told (a running server's
            // sockets show it at their next refresh; this process has none to tell).
            let returned = crate::conversations::routing::remove_helper(state, &name).await?;
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
