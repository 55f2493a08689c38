//! Evidence on the record: files attached to an incident, referenced from entries and
//! postmortem sections as Markdown (`![graph](attachment:41)`, `[log](attachment:42)`), so
//! they travel in the text. Stored in the database by content (SHA-256: a file attached
//! twice is kept once), so several servers on one database need nothing more.
//!
//! Only PNG, JPEG, GIF and WebP recognised by their magic bytes and decoded by the `image`
//! crate are images: they are re-encoded on upload, which drops their metadata (EXIF
//! location included), and only they are ever shown inline. Everything else — SVG and HTML
//! whatever they claim — is served as a download ([`web`]).

pub mod bundle;
pub mod pieces;
pub mod web;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::db::schema::{attachment_blobs, attachments};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::{AttachmentId, IncidentId};
use crate::incidents::IncidentKey;
use crate::time::now;
pub use pieces::Pieces;

/// The most all of an incident's attachments may take together.
pub const INCIDENT_TOTAL_BYTES: i64 = 500 * 1024 * 1024;
const OCTET_STREAM: &str = "application/octet-stream";
/// The longest file name kept.
pub const NAME_MAX: usize = 200;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub id: AttachmentId,
    pub incident_id: IncidentId,
    pub sha256: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub inline_image: bool,
    pub created_at: NaiveDateTime,
    pub purged_at: Option<NaiveDateTime>,
}

/// An image format hindsight shows inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageKind {
    /// By the file's first bytes, never by its name or declared type.
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageKind::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageKind::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageKind::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageKind::Webp)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Gif => "image/gif",
            ImageKind::Webp => "image/webp",
        }
    }

    fn format(self) -> image::ImageFormat {
        match self {
            ImageKind::Png => image::ImageFormat::Png,
            ImageKind::Jpeg => image::ImageFormat::Jpeg,
            ImageKind::Gif => image::ImageFormat::Gif,
            ImageKind::Webp => image::ImageFormat::WebP,
        }
    }
}

/// The image's pixels, within limits that refuse a decompression bomb.
fn decode(kind: ImageKind, bytes: &[u8]) -> Option<image::DynamicImage> {
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), kind.format());
    let mut limits = image::Limits::default();
    // A small file that claims to be 100,000 pixels square is refused, not allocated.
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    reader.decode().ok()
}

/// An image decoded and encoded again in its own format: only the pixels survive (no
/// EXIF, no comments, no trailing data). `None` when it does not decode as what its magic
/// bytes said (then it is kept as a plain file, never shown inline).
pub fn reencoded(kind: ImageKind, bytes: &[u8]) -> Option<Vec<u8>> {
    let decoded = decode(kind, bytes)?;
    let mut out = std::io::Cursor::new(Vec::new());
    match kind {
        // JPEG has no alpha; WebP is written lossless by the image crate.
        ImageKind::Jpeg => decoded.to_rgb8().write_to(&mut out, kind.format()).ok()?,
        ImageKind::Webp => decoded.to_rgba8().write_to(&mut out, kind.format()).ok()?,
        _ => decoded.write_to(&mut out, kind.format()).ok()?,
    }
    Some(out.into_inner())
}

/// A file as uploaded: its name, declared type and bytes.
pub struct Upload {
    pub name: String,
    pub declared_type: String,
    pub body: Pieces,
    /// The hash prefix a bundle named the file by (`attachments/<sha12>-name`): an image
    /// whose bytes match it is the one a hindsight server stored (already re-encoded), and
    /// is kept as it is, so a bundle round trip is exact (JPEGs would lose a generation).
    pub named_by_hash: Option<String>,
}

/// What is stored for an upload: images re-encoded, the name tidied, the type decided.
pub struct Prepared {
    name: String,
    content_type: String,
    inline_image: bool,
    body: Pieces,
    sha256: String,
}

/// A declared type kept only when it is a plain `type/subtype` (the serving route never
/// lets it decide anything but the download's type).
fn clean_type(declared: &str) -> String {
    let t = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match t.split_once('/') {
        Some((a, b)) if token(a) && token(b) && t.len() <= 100 => t,
        _ => OCTET_STREAM.into(),
    }
}

/// The type a non-image is served as: what was declared, except that nothing claims to be
/// an image (it failed the magic bytes) or a document a browser would run.
fn download_type(declared: &str) -> String {
    let t = clean_type(declared);
    let active = t.starts_with("image/")
        || t.contains("html")
        || t.contains("xml")
        || t.contains("javascript");
    if active {
        OCTET_STREAM.into()
    } else {
        t
    }
}

fn clean_name(raw: &str) -> String {
    // Browsers send the base name; some old ones a full path.
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(NAME_MAX)
        .collect();
    match name.trim() {
        "" => "file".into(),
        n => n.to_string(),
    }
}

/// Checks and shapes an upload, outside any transaction (decoding an image is the slow
/// part). Empty files are refused.
pub fn prepare(upload: Upload) -> Result<Prepared, AppError> {
    if upload.body.is_empty() {
        return Err(AppError::invalid("file", "The file is empty."));
    }
    let name = clean_name(&upload.name);
    let Some(kind) = ImageKind::sniff(upload.body.head()) else {
        let content_type = download_type(&upload.declared_type);
        let sha256 = upload.body.sha256();
        return Ok(Prepared::new(
            name,
            content_type,
            false,
            upload.body,
            sha256,
        ));
    };
    // An image is usually re-encoded, and then only the new bytes' hash counts.
    let bytes = upload.body.into_vec();
    let image_type = kind.content_type().to_string();
    let stored_before = upload
        .named_by_hash
        .filter(|prefix| prefix.len() == 12)
        .map(|prefix| (prefix, pieces::sha256_of(&bytes)))
        .filter(|(prefix, sha)| sha.starts_with(prefix.as_str()));
    if let Some((_, sha256)) = stored_before {
        if decode(kind, &bytes).is_some() {
            return Ok(Prepared::new(name, image_type, true, bytes.into(), sha256));
        }
    }
    Ok(match reencoded(kind, &bytes) {
        Some(clean) => {
            let body = Pieces::from(clean);
            let sha256 = body.sha256();
            Prepared::new(name, image_type, true, body, sha256)
        }
        // Not what its magic bytes said: a plain download, as it came.
        None => {
            let sha256 = pieces::sha256_of(&bytes);
            Prepared::new(name, OCTET_STREAM.into(), false, bytes.into(), sha256)
        }
    })
}

impl Prepared {
    fn new(
        name: String,
        content_type: String,
        inline_image: bool,
        body: Pieces,
        sha256: String,
    ) -> Self {
        Prepared {
            name,
            content_type,
            inline_image,
            body,
            sha256,
        }
    }
}

/// Stores a prepared upload on `incident` (the caller checked the reader may see it):
/// the bytes once per content, a row per attachment.
pub fn store(
    conn: &mut DbConnection,
    incident: IncidentId,
    p: Prepared,
    actor: &Actor,
) -> Result<Attachment, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    let size = p.body.len() as i64;
    crate::db::transaction(conn, |conn| {
        // Summed here: PostgreSQL's SUM of a BIGINT is NUMERIC, SQLite's an integer.
        let used: i64 = attachments::table
            .filter(attachments::incident_id.eq(incident))
            .filter(attachments::purged_at.is_null())
            .select(attachments::size)
            .load::<i64>(conn)?
            .into_iter()
            .sum();
        if used + size > INCIDENT_TOTAL_BYTES {
            return Err(AppError::PayloadTooLarge(format!(
                "The incident's attachments would pass {} together.",
                crate::limits::describe(INCIDENT_TOTAL_BYTES as usize)
            )));
        }
        let t = now();
        let known: i64 = attachment_blobs::table
            .find(&p.sha256)
            .count()
            .get_result(conn)?;
        if known == 0 {
            diesel::insert_into(attachment_blobs::table)
                .values((
                    attachment_blobs::sha256.eq(&p.sha256),
                    attachment_blobs::size.eq(size),
                    attachment_blobs::created_at.eq(t),
                ))
                .execute(conn)?;
            pieces::write(conn, &p.sha256, &p.body)?;
        }
        let id: AttachmentId = diesel::insert_into(attachments::table)
            .values((
                attachments::incident_id.eq(incident),
                attachments::sha256.eq(&p.sha256),
                attachments::name.eq(&p.name),
                attachments::content_type.eq(&p.content_type),
                attachments::size.eq(size),
                attachments::inline_image.eq(p.inline_image),
                attachments::created_by.eq(actor.user_id),
                attachments::created_at.eq(t),
            ))
            .returning(attachments::id)
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            audit::Action::AttachmentAdd,
            "incident",
            &IncidentKey(incident).to_string(),
            &format!("attachment {id}: {} ({size} bytes)", p.name),
        )?;
        get(conn, id)
    })
}

/// An incident's attachments, newest first.
pub fn of_incident(
    conn: &mut DbConnection,
    incident: IncidentId,
) -> Result<Vec<Attachment>, AppError> {
    Ok(attachments::table
        .filter(attachments::incident_id.eq(incident))
        .order(attachments::id.desc())
        .select(Attachment::as_select())
        .load(conn)?)
}

impl Attachment {
    /// "12 KiB", for pages.
    pub fn size_text(&self) -> String {
        crate::limits::describe_size(self.size)
    }
}

pub fn get(conn: &mut DbConnection, id: AttachmentId) -> Result<Attachment, AppError> {
    attachments::table
        .find(id)
        .select(Attachment::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("attachment {id}")))
}

/// A Markdown link target naming an attachment: `(attachment:41)`, the id captured.
pub(crate) fn reference() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\(attachment:(\d+)\)").expect("a valid pattern"))
}

/// A plain Markdown export's `attachment:ID` references as absolute links to this server
/// (a bundle carries the files instead: [`bundle`]).
pub fn absolute_links(doc: &str, base_url: &str) -> String {
    reference()
        .replace_all(doc, |c: &regex::Captures| {
            format!("({base_url}/attachments/{})", &c[1])
        })
        .into_owned()
}

/// An attachment's bytes (none once purged).
pub fn bytes_of(conn: &mut DbConnection, a: &Attachment) -> Result<Option<Pieces>, AppError> {
    if a.purged_at.is_some() {
        return Ok(None);
    }
    let body = pieces::read(conn, &a.sha256)?;
    Ok((!body.is_empty()).then_some(body))
}

/// Removes an attachment's file for good (admins, audited): the record that it was there
/// stays; the bytes go once no other attachment holds them. Evidence is part of the record,
/// so only this removes it.
pub fn purge(conn: &mut DbConnection, id: AttachmentId, actor: &Actor) -> Result<(), AppError> {
    actor.require(crate::auth::Permission::Administer)?;
    crate::db::transaction(conn, |conn| {
        let a = get(conn, id)?;
        if a.purged_at.is_some() {
            return Ok(());
        }
        diesel::update(attachments::table.find(id))
            .set((
                attachments::purged_at.eq(Some(now())),
                attachments::purged_by.eq(actor.user_id),
            ))
            .execute(conn)?;
        let holders: i64 = attachments::table
            .filter(attachments::sha256.eq(&a.sha256))
            .filter(attachments::purged_at.is_null())
            .count()
            .get_result(conn)?;
        if holders == 0 {
            diesel::delete(attachment_blobs::table.find(&a.sha256)).execute(conn)?;
            pieces::delete(conn, &a.sha256)?;
        }
        audit::record(
            conn,
            actor,
            audit::Action::AttachmentPurge,
            "incident",
            &IncidentKey(a.incident_id).to_string(),
            &format!("attachment {id}: {}", a.name),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_magic_bytes_make_an_image() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(ImageKind::Png)
        );
        assert_eq!(ImageKind::sniff(b"GIF89a..."), Some(ImageKind::Gif));
        assert_eq!(
            ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(ImageKind::sniff(b"<html>"), None);
        assert_eq!(clean_type("text/html; charset=utf-8"), "text/html");
        assert_eq!(download_type("text/html"), "application/octet-stream");
        assert_eq!(download_type("image/svg+xml"), "application/octet-stream");
        assert_eq!(download_type("image/png"), "application/octet-stream");
        assert_eq!(download_type("text/plain"), "text/plain");
        assert_eq!(
            clean_type("evil\r\nX-Injected: 1"),
            "application/octet-stream"
        );
        assert_eq!(clean_name("C:\\Users\\ann\\graph.png"), "graph.png");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name(""), "file");
    }
}
