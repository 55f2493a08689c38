//! `hindsight import A.md B.md DIR/`: each document in its own transaction, one report
//! line per file when there are several, a non-zero exit when any failed.

use std::io::Read;
use std::path::Path;

use super::import::{self, Again};
use crate::audit::Actor;
use crate::db::DbConnection;
use crate::error::AppError;

/// The extensions a directory's documents have.
const EXTENSIONS: [&str; 3] = ["md", "markdown", "txt"];

/// Imports `files` (documents, directories of them, or `-`); errors come back as one line.
pub fn run(
    conn: &mut DbConnection,
    files: &[String],
    duplicate: bool,
    max_attachment: usize,
) -> Result<(), String> {
    let documents = expand(files)?;
    let again = if duplicate {
        Again::Allow
    } else {
        Again::Refuse
    };
    let single = documents.len() == 1 && !files.iter().any(|f| Path::new(f).is_dir());
    if single {
        let key = import_one(conn, &documents[0], again, max_attachment)?;
        println!("{key}");
        return Ok(());
    }
    let mut failed = 0;
    for file in &documents {
        match import_one(conn, file, again, max_attachment) {
            Ok(key) => println!("{file}\t{key}"),
            Err(e) => {
                failed += 1;
                println!("{file}\terror: {e}");
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!(
            "{n} of {} documents were not imported",
            documents.len()
        )),
    }
}

/// Files as given, directories as their documents (by name, not descending further).
fn expand(files: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for f in files {
        let path = Path::new(f);
        if f != "-" && path.is_dir() {
            let mut found: Vec<String> = std::fs::read_dir(path)
                .map_err(|e| format!("cannot read {f}: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .and_then(|x| x.to_str())
                            .is_some_and(|x| EXTENSIONS.contains(&x.to_lowercase().as_str()))
                })
                .map(|p| p.display().to_string())
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(format!("{f} holds no .md, .markdown or .txt documents"));
            }
            out.extend(found);
        } else {
            out.push(f.clone());
        }
    }
    Ok(out)
}

fn import_one(
    conn: &mut DbConnection,
    file: &str,
    again: Again,
    max_attachment: usize,
) -> Result<String, String> {
    let actor = Actor::system("cli");
    let stored = if file.ends_with(".tar.gz") || file.ends_with(".tgz") {
        let bytes = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        if !crate::attachments::bundle::is_bundle(&bytes) {
            return Err(format!("{file} is not a .tar.gz bundle"));
        }
        crate::attachments::bundle::unpack_and_store(conn, &bytes, again, max_attachment, &actor)
    } else {
        let text = read_document(file)?;
        import::prepare(&text).and_then(|prepared| import::store(conn, prepared, again, &actor))
    };
    let incident = stored.map_err(|e| match e {
        AppError::Duplicate { existing, .. } => format!(
            "this document was imported before, as {existing}; pass --duplicate to import it again"
        ),
        other => other.to_string(),
    })?;
    Ok(incident.key())
}

/// The document in `file` (`-`: stdin), reading no more than the import limit.
fn read_document(file: &str) -> Result<String, String> {
    if file.trim().is_empty() {
        return Err("import needs a file name, or - for standard input".into());
    }
    let limit = import::MAX_BYTES;
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit as u64 + 1).read_to_end(&mut bytes))
    };
    let source = if file == "-" { "stdin" } else { file };
    read.map_err(|e| format!("cannot read {source}: {e}"))?;
    if bytes.len() > limit {
        return Err(format!(
            "{source} is larger than {}, the most a postmortem may be",
            crate::limits::describe(limit)
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{source} is not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}
