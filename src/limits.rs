//! Size limits for what clients send, in one place: routes, extractors and the importer all
//! read them from here, so the numbers the docs quote are the numbers enforced.

const MIB: usize = 1024 * 1024;

/// Largest form body (every HTML form but the import upload).
pub const FORM_BYTES: usize = MIB;

/// Largest JSON body of an API request.
pub const JSON_BYTES: usize = MIB;

/// Largest document to import (a 10,000-entry incident is about 3 MiB).
pub const IMPORT_BYTES: usize = 8 * MIB;

/// Longest URL (path and query) a route reads, as most proxies allow. Longer heads than
/// actix-http's 128 KiB buffer never reach the app: it answers 431 itself.
pub const URL_BYTES: usize = 8 * 1024;

/// Room for framing (multipart boundaries and headers, form field names) around a payload.
const FRAMING_BYTES: usize = 64 * 1024;

/// Largest request body buffered for a route; forms and JSON check their own limits again.
pub const BODY_BYTES: usize = FORM_BYTES + FRAMING_BYTES;

/// Largest request body on the import routes.
pub const IMPORT_BODY_BYTES: usize = IMPORT_BYTES + FRAMING_BYTES;

/// A limit as people read it: "8 MiB", "64 KiB".
pub fn describe(bytes: usize) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// A file's size as people read it: "512 B", "12 KiB", "1.5 MiB".
pub fn describe_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1024.0 {
        format!("{bytes} B")
    } else if b < MIB as f64 {
        format!("{:.0} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / MIB as f64)
    }
}
