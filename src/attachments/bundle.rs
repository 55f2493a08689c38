//! A postmortem with its evidence as one file: a `.tar.gz` holding `postmortem.md` and
//! `attachments/<hash>-<name>`, the document's `attachment:ID` references made relative
//! links to those files (GitHub and GitLab render them beside the document). Importing a
//! bundle stores the files on the new incident and points the references back at them.
//! Names carry the content's hash and the archive's times are fixed, so exporting an
//! imported bundle gives the same files: an image whose bytes match the hash in its name
//! is the one a server stored, and is kept as it is rather than re-encoded again.

use std::collections::BTreeMap;
use std::io::Read;

use diesel::prelude::*;

use super::{pieces, prepare, reference, Upload};
use crate::audit::Actor;
use crate::db::schema::{attachments, postmortems, timeline_entries};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::{AttachmentId, IncidentId};
use crate::incidents::Incident;
use crate::postmortems::import::{self, Again};

/// The document's name inside a bundle.
pub const DOCUMENT: &str = "postmortem.md";
/// The most files a bundle may hold.
const MAX_FILES: usize = 1000;

fn relative() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"\((attachments/[0-9a-f]{12}-[A-Za-z0-9._-]+)\)")
            .expect("a valid pattern")
    })
}

/// A file name safe in any archive and URL: letters, digits, `.`, `_`, `-`.
fn safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect();
    match s.trim_matches('.') {
        "" => "file".into(),
        s => s.to_string(),
    }
}

/// The exported document `doc` of `incident` as a bundle: the `.tar.gz` bytes.
pub fn pack(conn: &mut DbConnection, incident: IncidentId, doc: &str) -> Result<Vec<u8>, AppError> {
    let ids: Vec<AttachmentId> = reference()
        .captures_iter(doc)
        .filter_map(|c| c[1].parse::<i32>().ok().map(AttachmentId))
        .collect();
    let found: Vec<(AttachmentId, String, String)> = attachments::table
        .filter(attachments::incident_id.eq(incident))
        .filter(attachments::id.eq_any(&ids))
        .filter(attachments::purged_at.is_null())
        .select((attachments::id, attachments::sha256, attachments::name))
        .load(conn)?;
    let mut paths: BTreeMap<i32, String> = BTreeMap::new();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (id, sha, name) in found {
        let bytes = pieces::read(conn, &sha)?;
        if bytes.is_empty() {
            continue;
        }
        let path = format!("attachments/{}-{}", &sha[..12], safe(&name));
        paths.insert(id.0, path.clone());
        files.insert(path, bytes.into_vec());
    }
    // Only this incident's files are bundled; any other reference stays as written.
    let doc = reference().replace_all(doc, |c: &regex::Captures| {
        match c[1].parse::<i32>().ok().and_then(|id| paths.get(&id)) {
            Some(path) => format!("({path})"),
            None => c[0].to_string(),
        }
    });
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut add = |path: &str, bytes: &[u8]| -> std::io::Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, path, bytes)
    };
    add(DOCUMENT, doc.as_bytes()).map_err(AppError::unexpected)?;
    for (path, bytes) in &files {
        add(path, bytes).map_err(AppError::unexpected)?;
    }
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .map_err(AppError::unexpected)
}

/// Whether `bytes` look like a gzip stream (a bundle rather than a document).
pub fn is_bundle(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// A bundle's document and files, each within its limit.
fn unpack(bytes: &[u8], max_file: usize) -> Result<(String, BTreeMap<String, Vec<u8>>), AppError> {
    let bad = |what: String| AppError::BadRequest(format!("The bundle {what}."));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut doc = None;
    let mut files = BTreeMap::new();
    let mut total = 0usize;
    for (n, entry) in archive
        .entries()
        .map_err(|e| bad(format!("cannot be read ({e})")))?
        .enumerate()
    {
        if n >= MAX_FILES {
            return Err(bad(format!("holds more than {MAX_FILES} files")));
        }
        let entry = entry.map_err(|e| bad(format!("cannot be read ({e})")))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| bad(format!("names a file badly ({e})")))?
            .to_string_lossy()
            .into_owned();
        let limit = if path.ends_with(".md") {
            import::MAX_BYTES
        } else {
            max_file
        };
        let mut content = Vec::new();
        entry
            .take(limit as u64 + 1)
            .read_to_end(&mut content)
            .map_err(|e| bad(format!("cannot be read ({e})")))?;
        if content.len() > limit {
            return Err(AppError::PayloadTooLarge(format!(
                "{path} in the bundle is larger than {}.",
                crate::limits::describe(limit)
            )));
        }
        total += content.len();
        if total as i64 > super::INCIDENT_TOTAL_BYTES {
            return Err(AppError::PayloadTooLarge("The bundle is too large.".into()));
        }
        if path.ends_with(".md") && !path.contains('/') && doc.is_none() {
            doc = Some(
                String::from_utf8(content)
                    .map_err(|_| bad(format!("has {path}, which is not UTF-8 text")))?,
            );
        } else if path.starts_with("attachments/") {
            files.insert(path, content);
        }
    }
    let doc = doc.ok_or_else(|| bad(format!("has no {DOCUMENT}")))?;
    Ok((doc, files))
}

/// The type a bundled file is stored with, by its name (images are told by their bytes).
fn declared_type(path: &str) -> &'static str {
    match path
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// Imports a bundle as a new incident with its files, in one transaction: the document as
/// any import, then each referenced file stored and the references pointed at it.
pub fn unpack_and_store(
    conn: &mut DbConnection,
    bytes: &[u8],
    again: Again,
    max_file: usize,
    actor: &Actor,
) -> Result<Incident, AppError> {
    let (doc, mut files) = unpack(bytes, max_file)?;
    let prepared = import::prepare(&doc)?;
    let referenced: Vec<String> = {
        let mut seen = Vec::new();
        for c in relative().captures_iter(&doc) {
            if !seen.contains(&c[1].to_string()) {
                seen.push(c[1].to_string());
            }
        }
        seen
    };
    let mut uploads = Vec::new();
    for path in referenced {
        let bytes = files.remove(&path).ok_or_else(|| {
            AppError::BadRequest(format!(
                "The bundle has no {path}, which the document links to."
            ))
        })?;
        // `attachments/<hash>-<name>`: the name after the hash.
        let start = "attachments/".len();
        let upload = Upload {
            name: path[start + 13..].to_string(),
            declared_type: declared_type(&path).to_string(),
            body: bytes.into(),
            named_by_hash: Some(path[start..start + 12].to_string()),
        };
        uploads.push((path, prepare(upload)?));
    }
    crate::db::transaction(conn, |conn| {
        let incident = import::store(conn, prepared, again, actor)?;
        let mut ids: BTreeMap<String, AttachmentId> = BTreeMap::new();
        for (path, p) in uploads {
            let a = super::store(conn, incident.id, p, actor)?;
            ids.insert(path, a.id);
        }
        if !ids.is_empty() {
            point_at(conn, incident.id, &ids)?;
        }
        Ok(incident)
    })
}

/// Rewrites `(attachments/…)` in the new incident's entries and postmortem to the stored
/// files' `(attachment:ID)` (a fresh import: no revisions to keep yet).
fn point_at(
    conn: &mut DbConnection,
    incident: IncidentId,
    ids: &BTreeMap<String, AttachmentId>,
) -> Result<(), AppError> {
    let swap = |text: &str| {
        relative()
            .replace_all(text, |c: &regex::Captures| match ids.get(&c[1]) {
                Some(id) => format!("(attachment:{id})"),
                None => c[0].to_string(),
            })
            .into_owned()
    };
    let entries: Vec<(i32, String)> = timeline_entries::table
        .filter(timeline_entries::incident_id.eq(incident))
        .filter(timeline_entries::body.like("%(attachments/%"))
        .select((timeline_entries::id, timeline_entries::body))
        .load(conn)?;
    for (id, body) in entries {
        let body = swap(&body);
        diesel::update(timeline_entries::table.find(id))
            .set((
                timeline_entries::body_html.eq(crate::markdown::render(&body)),
                timeline_entries::body.eq(body),
            ))
            .execute(conn)?;
    }
    let found: Option<(String, String, String, String, String, String, String)> =
        postmortems::table
            .find(incident)
            .select((
                postmortems::summary,
                postmortems::resolution,
                postmortems::improvements,
                postmortems::lessons_went_well,
                postmortems::lessons_went_wrong,
                postmortems::lessons_lucky,
                postmortems::conclusion,
            ))
            .first(conn)
            .optional()?;
    if let Some((a, b, c, d, e, f, g)) = found {
        diesel::update(postmortems::table.find(incident))
            .set((
                postmortems::summary.eq(swap(&a)),
                postmortems::resolution.eq(swap(&b)),
                postmortems::improvements.eq(swap(&c)),
                postmortems::lessons_went_well.eq(swap(&d)),
                postmortems::lessons_went_wrong.eq(swap(&e)),
                postmortems::lessons_lucky.eq(swap(&f)),
                postmortems::conclusion.eq(swap(&g)),
            ))
            .execute(conn)?;
    }
    Ok(())
}
