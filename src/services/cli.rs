//! `hindsight service …`: keep the catalog from a shell (as the system actor, like the
//! other admin commands).

use clap::Subcommand;

use super::Changes;
use crate::audit::Actor;
use crate::db::DbConnection;

#[derive(Subcommand, Debug)]
pub enum ServiceCommand {
    /// Add a service to the catalog.
    Add {
        name: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Change a service's catalog entry (only the options given).
    Set {
        name: String,
        /// A new name.
        #[arg(long)]
        rename: Option<String>,
        #[command(flatten)]
        fields: Fields,
    },
    /// Remove a service no incident names.
    Remove { name: String },
    /// List the catalog, one per line: `name<TAB>tier<TAB>team<TAB>runbook`.
    List,
}

#[derive(clap::Args, Debug)]
pub struct Fields {
    /// The owning team (empty to clear).
    #[arg(long)]
    team: Option<String>,
    /// 1 (most critical) to 4; 0 clears.
    #[arg(long)]
    tier: Option<i32>,
    /// An http(s) address (empty to clear).
    #[arg(long)]
    runbook: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// Show it on the public status page: true or false.
    #[arg(long)]
    public: Option<bool>,
}

impl Fields {
    fn changes(self, name: Option<String>) -> Changes {
        Changes {
            name,
            team: self.team.map(|t| Some(t).filter(|t| !t.trim().is_empty())),
            tier: self.tier.map(|t| Some(t).filter(|t| *t != 0)),
            runbook_url: self.runbook,
            description: self.description,
            public: self.public,
        }
    }
}

pub fn run(conn: &mut DbConnection, command: ServiceCommand) -> Result<(), String> {
    let actor = Actor::system("cli");
    let e = |e: crate::error::AppError| e.to_string();
    match command {
        ServiceCommand::Add { name, fields } => {
            super::create(conn, fields.changes(Some(name)), &actor).map_err(e)?;
        }
        ServiceCommand::Set {
            name,
            rename,
            fields,
        } => {
            let id = super::named(conn, &name).map_err(e)?.id;
            super::update(conn, id, fields.changes(rename), &actor).map_err(e)?;
        }
        ServiceCommand::Remove { name } => {
            let id = super::named(conn, &name).map_err(e)?.id;
            super::delete(conn, id, &actor).map_err(e)?;
        }
        ServiceCommand::List => {
            let everyone = crate::access::Reader {
                user_id: crate::ids::UserId(0),
                admin: true,
            };
            for v in super::list(conn, everyone).map_err(e)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    v.service.name,
                    v.service.tier.map(|t| t.to_string()).unwrap_or_default(),
                    v.team.unwrap_or_default(),
                    v.service.runbook_url
                );
            }
        }
    }
    Ok(())
}
