//! Storing a parsed document: every entry checked and its Markdown rendered first, on all
//! cores and outside any write ([`prepare`]); then one transaction that creates the
//! incident and hands each part to its aggregate's own insert ([`store`]).

use super::{Imported, ImportedEntry};
use crate::audit::{self, Actor};
use crate::auth::users;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::IncidentId;
use crate::incidents::service::CreateOptions;
use crate::incidents::Incident;
use crate::root_causes::{CauseFields, NewCause};
use crate::time::now;
use crate::timeline::service::RecordedEntry;

/// A parsed document with its entries' Markdown rendered, ready for [`store`].
pub struct Prepared {
    imported: Imported,
    /// Each entry's HTML; `None` for a blank entry, which is skipped.
    html: Vec<Option<String>>,
    /// The root causes, validated and rendered.
    causes: Vec<NewCause>,
    /// The document's [`source_hash`].
    hash: String,
}

impl Prepared {
    /// The document as read (with any overrides), for the preview.
    pub fn imported(&self) -> &Imported {
        &self.imported
    }

    /// The document's [`source_hash`].
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// What the importer set on the import form over what the document says (or does not:
    /// a plain document rarely states a severity, and its title is often a sentence).
    pub fn with_overrides(
        mut self,
        title: Option<String>,
        severity: Option<crate::incidents::Severity>,
    ) -> Prepared {
        if let Some(t) = title
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
        {
            self.imported.fields.title = t;
        }
        if let Some(s) = severity {
            self.imported.fields.severity = s;
        }
        self
    }
}

/// Facts the importer set on the preview over what the document says. `None` keeps the
/// document's; a time set to `Some(None)` is cleared.
#[derive(Clone, Debug, Default)]
pub struct FactOverrides {
    pub started_at: Option<chrono::NaiveDateTime>,
    pub detected_at: Option<Option<chrono::NaiveDateTime>>,
    pub mitigated_at: Option<Option<chrono::NaiveDateTime>>,
    pub resolved_at: Option<Option<chrono::NaiveDateTime>>,
    pub services: Option<Vec<String>>,
}

impl Prepared {
    /// The importer's times and services over the document's; each one set differently is
    /// marked as set on the form (line 0 in `read_from`).
    pub fn with_facts(mut self, o: FactOverrides) -> Prepared {
        let f = &mut self.imported.fields;
        let mut set = Vec::new();
        if let Some(t) = o.started_at.filter(|t| *t != f.started_at) {
            f.started_at = t;
            set.push("started_at");
        }
        for (name, slot, value) in [
            ("detected_at", &mut f.detected_at, o.detected_at),
            ("mitigated_at", &mut f.mitigated_at, o.mitigated_at),
            ("resolved_at", &mut f.resolved_at, o.resolved_at),
        ] {
            if let Some(v) = value.filter(|v| v != slot) {
                *slot = v;
                set.push(name);
            }
        }
        if let Some(s) = o.services.filter(|s| *s != f.services) {
            f.services = s;
            set.push("services");
        }
        if let Some(read_from) = &mut self.imported.read_from {
            for name in set {
                read_from.insert(name, 0);
            }
        }
        self
    }
}

/// Whether importing a document that was imported before goes ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Again {
    /// 409 `duplicate` naming the incident it made (the default everywhere).
    Refuse,
    /// Asked for: `?duplicate=true`, "Import anyway", `--duplicate`.
    Allow,
}

/// SHA-256 of a document with its line endings normalised (the same file saved on Windows
/// is the same document).
pub fn source_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let normalised = text.replace("\r\n", "\n");
    hex::encode(Sha256::digest(normalised.trim().as_bytes()))
}

/// Parses `text`, checks every entry and renders its Markdown. Rendering is most of an
/// import's work: do it before the write, so that other writers never wait for it.
pub fn prepare(text: &str) -> Result<Prepared, AppError> {
    prepare_parsed(super::parse(text)?, source_hash(text))
}

/// [`prepare`] for a document already parsed (or built, as the benchmark does), whose
/// source has `hash`.
pub fn prepare_parsed(imported: Imported, hash: String) -> Result<Prepared, AppError> {
    let html = render_entries(&imported.entries)?;
    let causes = imported
        .causes
        .iter()
        .map(|c| {
            CauseFields::parse(c.kind.as_str(), c.category.as_str(), &c.description)
                .map(CauseFields::rendered)
        })
        .collect::<Result<_, _>>()?;
    Ok(Prepared {
        imported,
        html,
        causes,
        hash,
    })
}

/// The incident the same document made before, if the importer may see it (a restricted
/// one they may not see is not named, and does not stop them).
pub fn imported_before(
    conn: &mut DbConnection,
    hash: &str,
    actor: &Actor,
) -> Result<Option<IncidentId>, AppError> {
    use crate::db::schema::incidents;
    use diesel::prelude::*;
    let found: Vec<IncidentId> = incidents::table
        .filter(incidents::import_hash.eq(hash))
        .order(incidents::id.asc())
        .select(incidents::id)
        .load(conn)?;
    for id in found {
        let seen = match actor.user_id {
            None => true,
            Some(user_id) => {
                let reader = crate::access::Reader {
                    user_id,
                    admin: actor.role == Some(crate::auth::Role::Admin),
                };
                crate::access::can_see(conn, reader, id)? != crate::access::Seen::No
            }
        };
        if seen {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn render_entries(entries: &[ImportedEntry]) -> Result<Vec<Option<String>>, AppError> {
    let max = crate::timeline::service::BODY_MAX;
    if entries
        .iter()
        .any(|e| e.body.trim_end().chars().count() > max)
    {
        return Err(AppError::invalid(
            "document",
            format!("a timeline entry is longer than {max} characters"),
        ));
    }
    let render = |e: &ImportedEntry| {
        let body = e.body.trim_end();
        (!body.trim().is_empty()).then(|| crate::markdown::render(body))
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || entries.len() < 256 {
        return Ok(entries.iter().map(render).collect());
    }
    let per_thread = entries.len().div_ceil(threads);
    Ok(std::thread::scope(|scope| {
        let parts: Vec<_> = entries
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().map(render).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("Markdown rendering does not panic"))
            .collect()
    }))
}

/// Stores a prepared document as a new incident with its whole record, in one transaction.
pub fn store(
    conn: &mut DbConnection,
    prepared: Prepared,
    again: Again,
    actor: &Actor,
) -> Result<Incident, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    let Prepared {
        imported,
        html,
        causes,
        hash,
    } = prepared;
    crate::db::transaction(conn, |conn| {
        if again == Again::Refuse {
            if let Some(existing) = imported_before(conn, &hash, actor)? {
                let key = crate::incidents::IncidentKey(existing).to_string();
                return Err(AppError::Duplicate {
                    message: format!(
                        "This document was imported before, as {key}. Import it again only if you mean a second incident."
                    ),
                    existing: key,
                });
            }
        }
        let Imported {
            mut fields,
            commander,
            roles,
            entries,
            escalations,
            causes: _,
            tasks,
            sections,
            review_history,
            stated: _,
            read_from: _,
            not_understood: _,
        } = imported;
        fields.commander_id = users::resolve(conn, commander.as_deref(), "commander")?;
        for role in crate::incidents::roles::IncidentRole::ALL {
            let name = roles.get(role).map(String::as_str);
            fields.set_role(role, users::resolve(conn, name, role.name())?);
        }
        let incident =
            crate::incidents::service::create(conn, fields, actor, &CreateOptions::default())?;
        let id = incident.id;
        {
            use crate::db::schema::incidents;
            use diesel::prelude::*;
            diesel::update(incidents::table.find(id))
                .set(incidents::import_hash.eq(&hash))
                .execute(conn)?;
        }
        // A document's authors are names, not accounts: linking them would let anyone who
        // can import file entries as an admin. The importer is in the audit log.
        let recorded: Vec<RecordedEntry> = entries
            .into_iter()
            .zip(html)
            .filter_map(|(e, html)| {
                Some(RecordedEntry {
                    author_id: None,
                    imported_author: e.author,
                    moment: e.moment,
                    body: e.body.trim_end().to_string(),
                    body_html: html?,
                    occurred_at: e.occurred_at,
                    time_known: e.time_known,
                    kind: e.kind,
                })
            })
            .collect();
        let entry_count = crate::timeline::service::insert_many(conn, id, recorded)?;
        // Who escalated is the document's to say, not the importer's (the importer is in
        // the audit log), on the page and the CLI alike.
        crate::escalations::insert_many(conn, id, &escalations, None)?;
        for cause in &causes {
            crate::root_causes::create(conn, id, cause, actor)?;
        }
        let task_fields = tasks
            .iter()
            .map(|task| {
                let input = match task.owner_as_written {
                    true => owned_here(conn, &task.input)?,
                    false => task.input.clone(),
                };
                Ok((input.parse(conn)?, task.completed_at))
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        let task_count = crate::tasks::service::insert_many(conn, id, &task_fields, actor.user_id)?;
        let sections = sections.validate()?;
        // Always a draft: approval happens here, not in a document.
        let draft = crate::postmortems::ReviewState::Draft;
        crate::postmortems::insert(conn, id, &sections, draft, actor.user_id, now())?;
        let mut detail = format!("{entry_count} entries, {task_count} tasks");
        if !review_history.is_empty() {
            detail = format!("{detail}; the document said: {review_history}");
        }
        audit::record(
            conn,
            actor,
            audit::Action::IncidentImport,
            "incident",
            &incident.key(),
            &detail,
        )?;
        Ok(incident)
    })
}

/// A task whose owner the document names but who has no account here keeps the name as
/// its team (free text, as for outside parties), so nothing the document says is lost.
pub(super) fn owned_here(
    conn: &mut DbConnection,
    input: &crate::tasks::service::TaskInput,
) -> Result<crate::tasks::service::TaskInput, AppError> {
    let owner = input.owner.trim();
    if owner.is_empty() || users::find_by_username(conn, owner)?.is_some() {
        return Ok(input.clone());
    }
    let mut moved = input.clone();
    moved.team = match input.team.trim() {
        "" => owner.to_string(),
        team => format!("{owner} ({team})"),
    };
    moved.owner = String::new();
    Ok(moved)
}
