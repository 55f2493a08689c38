//! The command line (API.md, CLI): `serve` (default), `migrate`, `user create`,
//! `token create`, `import`, `export`, `backup`.

use std::io::Read;

use clap::{Args, Parser, Subcommand};

use crate::app::Application;
use crate::audit::Actor;
use crate::auth::users::{self, parse_role, NewUser};
use crate::auth::{random_token, tokens};
use crate::config::Config;
use crate::db;
use crate::incidents::IncidentKey;
use crate::postmortems;

const AFTER_HELP: &str = "\
First run: `hindsight` serves http://127.0.0.1:8080 on ./hindsight.db and logs a one-time
setup link for the first admin (or: hindsight user create --username NAME --role admin).

Examples:
  DATABASE_URL=postgres://hindsight:secret@db/hindsight hindsight serve --bind 0.0.0.0:8080
  hindsight token create --username alertmanager --name alerts --scope alerts
  hindsight import postmortem.txt
  hindsight export INC-7 --template sre --zone Europe/Berlin --output INC-7.md
  hindsight backup /backups/hindsight-$(date +%F).db";

#[derive(Parser, Debug)]
#[command(
    name = "hindsight",
    version,
    about = "Incident timelines and postmortems, self-hosted.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Database: sqlite://PATH, a bare path, or postgres://user:pass@host/db
    /// [env: DATABASE_URL; default sqlite://hindsight.db]
    #[arg(long, global = true)]
    pub database_url: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Migrate the database, then serve until SIGINT/SIGTERM (the default).
    Serve {
        /// Listen address [env: HINDSIGHT_BIND; default 127.0.0.1:8080]
        #[arg(long)]
        bind: Option<String>,
    },
    /// Run pending migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Manage the service catalog.
    #[command(subcommand)]
    Service(crate::services::cli::ServiceCommand),
    /// Import postmortems (hindsight's export, or the SRE book, GitLab, Atlassian,
    /// PagerDuty or a plain layout) as new incidents; prints each one's key.
    Import {
        /// Documents, directories of them (.md, .markdown, .txt), or `-` for standard
        /// input. Each is imported in its own transaction; with more than one, each gets a
        /// line `FILE<TAB>INC-7` or `FILE<TAB>error: …`.
        #[arg(required = true)]
        files: Vec<String>,
        /// Import it even when the same document was imported before.
        #[arg(long)]
        duplicate: bool,
    },
    /// Print an incident's postmortem as Markdown (or write it to --output).
    Export {
        /// Incident key, e.g. INC-7 (or 7).
        key: String,
        /// Write to this file instead of standard output
        #[arg(long, short)]
        output: Option<String>,
        /// `default` (the seed's sections) or `sre` (the SRE-book layout).
        #[arg(long, default_value = "default")]
        template: String,
        /// Write the visible times in this zone (e.g. Europe/Berlin); UTC by default.
        #[arg(long)]
        zone: Option<String>,
        /// Write a .tar.gz with the Markdown and its attachments to this file instead.
        #[arg(long)]
        bundle: Option<String>,
    },
    /// Copy the SQLite database consistently while the server runs (PostgreSQL: use pg_dump).
    Backup {
        /// Where to write the copy (must not exist yet).
        file: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a random password is generated and printed.
    Create(UserCreate),
}

#[derive(Args, Debug)]
pub struct UserCreate {
    /// Login name: lowercase letters, digits, `.`, `_` and `-`
    #[arg(long)]
    pub username: String,
    /// admin, responder or viewer
    #[arg(long)]
    pub role: String,
    /// Name shown in the app (defaults to the username)
    #[arg(long, default_value = "")]
    pub display_name: String,
    /// Read the password from standard input (first line).
    #[arg(long)]
    pub password_stdin: bool,
    /// E-mail address for notifications
    #[arg(long, default_value = "")]
    pub email: String,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token for a user; prints the token alone on stdout.
    Create {
        /// The user the token acts as (with that user's role)
        #[arg(long)]
        username: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// `alerts`: a token for alert intake only (Alertmanager), which may do nothing
        /// else; default: full (everything the user's role allows, except alert intake).
        #[arg(long, default_value = "full")]
        scope: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TeamCommand {
    /// Create a team.
    Create {
        name: String,
        /// A member's username (repeat for several, or comma separated)
        #[arg(long = "member")]
        members: Vec<String>,
    },
    /// Replace a team's members.
    SetMembers {
        name: String,
        #[arg(long = "member")]
        members: Vec<String>,
    },
    /// Delete a team.
    Delete { name: String },
    /// List teams and members, one per line: `name<TAB>member,member`.
    List,
}

/// Runs a parsed command line; errors come back as one line for stderr.
pub fn run(cli: Cli) -> Result<(), String> {
    let bind = match &cli.command {
        Some(Command::Serve { bind }) => bind.clone(),
        _ => None,
    };
    let config = Config::from_env(cli.database_url.clone(), bind)?;
    match cli.command.unwrap_or(Command::Serve { bind: None }) {
        Command::Serve { .. } => serve(config),
        Command::Migrate => {
            let mut conn = open(&config)?;
            let applied = db::migrate(&mut conn)?;
            if applied.is_empty() {
                eprintln!("database is up to date");
            } else {
                eprintln!(
                    "applied {} migration(s): {}",
                    applied.len(),
                    applied.join(", ")
                );
            }
            Ok(())
        }
        Command::User(UserCommand::Create(args)) => create_user(&config, args),
        Command::Import { files, duplicate } => {
            let mut conn = open(&config)?;
            db::migrate(&mut conn)?;
            postmortems::import_cli::run(&mut conn, &files, duplicate, config.max_attachment)
        }
        Command::Export {
            key,
            output,
            template,
            zone,
            bundle,
        } => {
            let template =
                postmortems::export::Template::parse(Some(&template)).map_err(|e| e.to_string())?;
            let zone =
                postmortems::export::parse_zone(zone.as_deref()).map_err(|e| e.to_string())?;
            let id = key
                .parse::<IncidentKey>()
                .map_err(|_| format!("`{key}` is not an incident key like INC-7"))?
                .0;
            let mut conn = open(&config)?;
            let (_, doc) = postmortems::export::document(&mut conn, id, template, zone)
                .map_err(|e| e.to_string())?;
            if let Some(path) = bundle {
                let bytes = crate::attachments::bundle::pack(&mut conn, id, &doc)
                    .map_err(|e| e.to_string())?;
                return std::fs::write(&path, bytes)
                    .map_err(|e| format!("cannot write {path}: {e}"));
            }
            let doc = crate::attachments::absolute_links(&doc, &config.base_url);
            match output {
                // The document ends with its own newline: the file is byte for byte the API's.
                Some(path) => {
                    std::fs::write(&path, doc).map_err(|e| format!("cannot write {path}: {e}"))
                }
                None => {
                    print!("{doc}");
                    Ok(())
                }
            }
        }
        Command::Backup { file } => backup(&config, &file),
        Command::Team(command) => team(&config, command),
        Command::Service(command) => {
            let mut conn = open(&config)?;
            db::migrate(&mut conn)?;
            crate::services::cli::run(&mut conn, command)
        }
        Command::Token(TokenCommand::Create {
            username,
            name,
            scope,
        }) => {
            let scope: tokens::TokenScope = scope
                .parse()
                .map_err(|_| format!("--scope: expected full or alerts, not `{scope}`"))?;
            let mut conn = open(&config)?;
            db::migrate(&mut conn)?;
            let user = users::find_by_username(&mut conn, &username)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user named `{username}`"))?;
            let secret = tokens::create(&mut conn, &user, &name, scope, &Actor::system("cli"))
                .map_err(|e| e.to_string())?;
            println!("{secret}");
            Ok(())
        }
    }
}

fn team(config: &Config, command: TeamCommand) -> Result<(), String> {
    use crate::teams;
    let mut conn = open(config)?;
    db::migrate(&mut conn)?;
    let conn = &mut conn;
    let actor = Actor::system("cli");
    let members = |m: Vec<String>| -> Vec<String> {
        m.iter().flat_map(|s| teams::parse_members(s)).collect()
    };
    let named = |conn: &mut db::DbConnection, name: &str| {
        teams::find(conn, name)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no team named `{name}`"))
    };
    match command {
        TeamCommand::Create { name, members: m } => {
            teams::create(conn, &name, &members(m), &actor).map_err(|e| e.to_string())?;
        }
        TeamCommand::SetMembers { name, members: m } => {
            let id = named(conn, &name)?.team.id;
            teams::update(conn, id, None, Some(&members(m)), &actor).map_err(|e| e.to_string())?;
        }
        TeamCommand::Delete { name } => {
            let id = named(conn, &name)?.team.id;
            teams::delete(conn, id, &actor).map_err(|e| e.to_string())?;
        }
        TeamCommand::List => {
            for t in teams::list(conn).map_err(|e| e.to_string())? {
                println!("{}\t{}", t.team.name, t.members.join(","));
            }
        }
    }
    Ok(())
}

/// One connection, no pool: a pool's background threads could still hold a PostgreSQL
/// connection while a one-shot command exits, and libpq's teardown then races them.
fn open(config: &Config) -> Result<db::DbConnection, String> {
    db::connect_one(&config.database_url)
}

fn create_user(config: &Config, args: UserCreate) -> Result<(), String> {
    let (password, generated) = if args.password_stdin {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        (input.lines().next().unwrap_or("").to_string(), false)
    } else {
        (random_token(12), true)
    };
    let role = parse_role(&args.role).map_err(|e| e.to_string())?;
    let new = NewUser::new(&args.username, &args.display_name, role, &password)
        .and_then(|n| n.with_email(&args.email))
        .map_err(|e| e.to_string())?;
    let mut conn = open(config)?;
    db::migrate(&mut conn)?;
    let user = users::create(&mut conn, &new, &Actor::system("cli")).map_err(|e| e.to_string())?;
    // Admins made here can always sign in with their password (break-glass, for when single
    // sign-on is the only way in and the provider is down).
    if user.role == crate::auth::Role::Admin {
        users::set_break_glass(&mut conn, user.id).map_err(|e| e.to_string())?;
    }
    eprintln!("created {} ({})", user.username, user.role);
    if generated {
        println!("{password}");
    }
    Ok(())
}

/// `VACUUM INTO` writes a consistent snapshot while other connections keep writing.
fn backup(config: &Config, file: &str) -> Result<(), String> {
    use diesel::RunQueryDsl;
    if file.trim().is_empty() {
        return Err("backup needs the name of a new file to write".into());
    }
    if let db::DbUrl::Postgres(_) = config.database_url {
        return Err("backup copies SQLite databases; for PostgreSQL run `pg_dump --format=custom --file=hindsight.dump \"$DATABASE_URL\"`".into());
    }
    if std::path::Path::new(file).exists() {
        return Err(format!("{file} already exists; choose a new file"));
    }
    let mut conn = open(config)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(file)
        .execute(&mut conn)
        .map_err(|e| format!("backup failed: {e}"))?;
    eprintln!("backed up to {file}");
    Ok(())
}

fn serve(config: Config) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        // Signals are caught before the port opens: a SIGTERM at any moment after start-up
        // stops the server gracefully (exit 0) instead of killing it mid-start.
        let stop = stop_signal().map_err(|e| format!("cannot listen for signals: {e}"))?;
        let app = Application::build(config)?;
        let handle = app.handle();
        actix_web::rt::spawn(async move {
            stop.await;
            tracing::info!("stopping: in-flight requests finish first");
            handle.stop(true).await;
        });
        // On stdout for scripts and tests that bind port 0 (they read the real port from it
        // whatever the log level); in the log for operators.
        println!("listening on http://{}", app.address());
        tracing::info!("listening on http://{}", app.address());
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

/// Resolves at the first SIGINT or SIGTERM (Ctrl+C elsewhere).
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
