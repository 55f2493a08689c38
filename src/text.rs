//! Text rules shared by every layer: which characters may be stored.
//!
//! One policy for both databases: NUL and the other C0 control characters except tab, LF
//! and CR are refused wherever text comes in (forms, JSON, query strings, imported
//! documents). PostgreSQL refuses NUL outright, and SQLite would store it and write it raw
//! into pages, CSV and exports, so records could not move between the two.

use serde_json::Value;

use crate::error::AppError;

/// Whether `c` may not be stored.
pub fn is_refused(c: char) -> bool {
    c < ' ' && !matches!(c, '\t' | '\n' | '\r')
}

/// The first refused character of `text` and its position (1-based, in characters).
pub fn refused_char(text: &str) -> Option<(usize, char)> {
    text.chars()
        .enumerate()
        .find(|(_, c)| is_refused(*c))
        .map(|(i, c)| (i + 1, c))
}

/// A 422 naming `field` when `text` holds a refused character.
pub fn check_field(field: &str, text: &str) -> Result<(), AppError> {
    match refused_char(text) {
        None => Ok(()),
        Some((at, c)) => Err(AppError::invalid(
            field,
            format!(
                "{field} contains the control character U+{:04X} at character {at}; remove it.",
                c as u32
            ),
        )),
    }
}

/// [`check_field`] for every string in a JSON document, named by its path
/// (`title`, `services[1]`, `reviewers[0]`).
pub fn check_json(value: &Value, path: &str) -> Result<(), AppError> {
    match value {
        Value::String(s) => check_field(if path.is_empty() { "body" } else { path }, s),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_json(v, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().try_for_each(|(k, v)| {
            check_field("body", k)?;
            if path.is_empty() {
                check_json(v, k)
            } else {
                check_json(v, &format!("{path}.{k}"))
            }
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_controls_but_tab_and_line_ends() {
        assert_eq!(refused_char("ok\ttab\r\nnew line"), None);
        assert_eq!(refused_char("a\u{0}b"), Some((2, '\u{0}')));
        assert_eq!(refused_char("é\u{1b}[31m"), Some((2, '\u{1b}')));
        let e = check_field("title", "x\u{7}").unwrap_err();
        assert_eq!(e.field(), Some("title"));
        assert!(e.to_string().contains("U+0007"), "{e}");
        let doc = serde_json::json!({"title": "ok", "services": ["a", "b\u{0}"]});
        assert_eq!(
            check_json(&doc, "").unwrap_err().field(),
            Some("services[1]")
        );
    }
}
