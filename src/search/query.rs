//! What a reader typed into the search box, understood: words, `"quoted phrases"`,
//! `-word` (leave out), `word*` (prefix), filters like the list's (`severity:SEV1
//! service:payments status:resolved after:2026-01-01 before:2026-02-01 kind:task`) and an
//! incident key (`INC-2`, `inc 2`, `#2`, `2`), which jumps to the incident.
//!
//! The words become one full-text query for each backend ([`Match`]), bound as a single
//! parameter: FTS5's query syntax on SQLite, `to_tsquery` syntax on PostgreSQL. Only
//! letters and digits reach either syntax, so nothing typed can change the query's shape.

use crate::ids::IncidentId;

/// At most this many characters of a search are read.
pub const QUERY_MAX: usize = 200;
/// At most this many terms (a phrase counts once).
const TERMS_MAX: usize = 16;

/// One thing to find (`words.len() > 1`: a phrase) or to leave out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub words: Vec<String>,
    pub negated: bool,
    pub prefix: bool,
}

/// Where a hit was found; `kind:` in a search and `kind=` in the API choose among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Incident,
    Entry,
    RootCause,
    Task,
    Escalation,
    Postmortem,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Incident,
        Kind::Entry,
        Kind::RootCause,
        Kind::Task,
        Kind::Escalation,
        Kind::Postmortem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Incident => "incident",
            Kind::Entry => "entry",
            Kind::RootCause => "root_cause",
            Kind::Task => "task",
            Kind::Escalation => "escalation",
            Kind::Postmortem => "postmortem",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || (s == "cause" && *k == Kind::RootCause))
    }

    /// The document codes of this kind (the low four bits of a document id; see the
    /// migration `search`).
    pub fn codes(self) -> &'static [i64] {
        match self {
            Kind::Incident => &[1, 2],
            Kind::Entry => &[3],
            Kind::RootCause => &[4],
            Kind::Task => &[5],
            Kind::Escalation => &[6],
            Kind::Postmortem => &[8, 9, 10, 11, 12, 13, 14],
        }
    }

    pub fn of_code(code: i64) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.codes().contains(&code))
    }
}

/// The filters a search may carry, as typed (checked by the list's own parser).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    pub status: Option<String>,
    pub severity: Option<String>,
    pub service: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
}

/// A search as typed, understood.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Term>,
    pub filters: Filters,
    pub kind: Option<Kind>,
    /// The whole search was an incident key.
    pub key: Option<IncidentId>,
    /// `name:value` pairs that name no filter (`kind:` with an unknown kind, …).
    pub unknown: Vec<String>,
}

/// The words of a search in each backend's full-text syntax, plus which kinds to look in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub fts5: String,
    pub tsquery: String,
    pub codes: Vec<i64>,
}

impl Match {
    /// `AND` clause limiting document ids (`column`) to the chosen kinds; empty for all.
    /// The codes are ours, never typed, so they are written into the SQL.
    pub fn kind_clause(&self, column: &str) -> String {
        if self.codes.is_empty() {
            return String::new();
        }
        let codes: Vec<String> = self.codes.iter().map(i64::to_string).collect();
        format!(" AND ({column} & 15) IN ({})", codes.join(", "))
    }

    /// The same words, in titles only (ranking puts title hits first).
    pub fn titles_only(&self) -> Match {
        Match {
            codes: vec![1],
            ..self.clone()
        }
    }
}

impl Query {
    pub fn parse(text: &str) -> Query {
        let text: String = text.chars().take(QUERY_MAX).collect();
        let mut q = Query {
            key: key_of(&text),
            ..Query::default()
        };
        for token in tokens(&text) {
            if q.terms.len() >= TERMS_MAX {
                break;
            }
            match token {
                Token::Phrase(p, negated) => q.push(words_of(&p), negated, false),
                Token::Word(w) => q.word(&w),
            }
        }
        q
    }

    fn push(&mut self, words: Vec<String>, negated: bool, prefix: bool) {
        if !words.is_empty() {
            self.terms.push(Term {
                words,
                negated,
                prefix,
            });
        }
    }

    fn word(&mut self, w: &str) {
        if let Some((name, value)) = w.split_once(':').filter(|(n, v)| {
            !n.is_empty() && !v.is_empty() && n.chars().all(|c| c.is_ascii_alphabetic())
        }) {
            let value = Some(value.to_string());
            match name.to_ascii_lowercase().as_str() {
                "status" => return self.filters.status = value,
                "severity" | "sev" => return self.filters.severity = value,
                "service" => return self.filters.service = value,
                "after" | "since" | "from" => return self.filters.after = value,
                "before" | "until" | "to" => return self.filters.before = value,
                "kind" | "in" => {
                    match Kind::parse(value.as_deref().unwrap_or_default()) {
                        Some(k) => self.kind = Some(k),
                        None => self.unknown.push(w.to_string()),
                    }
                    return;
                }
                // Anything else (`error:timeout`) is text.
                _ => {}
            }
        }
        let (negated, w) = match w.strip_prefix('-') {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, w),
        };
        let (prefix, w) = match w.strip_suffix('*') {
            Some(rest) => (true, rest),
            None => (false, w),
        };
        let words = words_of(w);
        // `gw-3*` is the phrase "gw 3" ending in a prefix; a prefix needs one word.
        let prefix = prefix && words.len() == 1;
        self.push(words, negated, prefix);
    }

    /// Whether anything is left to search for: a search of only `-word`s finds nothing.
    pub fn has_words(&self) -> bool {
        self.terms.iter().any(|t| !t.negated)
    }

    /// The words for the databases, or `None` when there is nothing to find.
    pub fn matcher(&self) -> Option<Match> {
        if !self.has_words() {
            return None;
        }
        // Positives first: FTS5's NOT needs something on its left.
        let mut terms: Vec<&Term> = self.terms.iter().filter(|t| !t.negated).collect();
        terms.extend(self.terms.iter().filter(|t| t.negated));
        let mut fts5 = String::new();
        let mut tsquery = String::new();
        for (i, t) in terms.iter().enumerate() {
            let phrase = t.words.join(" ");
            let star = if t.prefix { "*" } else { "" };
            if i > 0 {
                fts5.push_str(if t.negated { " NOT " } else { " AND " });
                tsquery.push_str(" & ");
            }
            fts5.push_str(&format!("\"{phrase}\"{star}"));
            let lexemes: Vec<String> = t
                .words
                .iter()
                .map(|w| format!("'{w}'{}", if t.prefix { ":*" } else { "" }))
                .collect();
            let joined = lexemes.join(" <-> ");
            match (t.negated, lexemes.len() > 1) {
                (true, true) => tsquery.push_str(&format!("!({joined})")),
                (true, false) => tsquery.push_str(&format!("!{joined}")),
                (false, true) => tsquery.push_str(&format!("({joined})")),
                (false, false) => tsquery.push_str(&joined),
            }
        }
        Some(Match {
            fts5,
            tsquery,
            codes: self.kind.map(|k| k.codes().to_vec()).unwrap_or_default(),
        })
    }

    /// The positive single words as one phrase (`"payment gateway"`), when there are
    /// several: hits with the words together rank first.
    pub fn as_phrase(&self) -> Option<Match> {
        let words: Vec<&Term> = self
            .terms
            .iter()
            .filter(|t| !t.negated && t.words.len() == 1 && !t.prefix)
            .collect();
        if words.len() < 2 {
            return None;
        }
        Query {
            terms: vec![Term {
                words: words.iter().map(|t| t.words[0].clone()).collect(),
                negated: false,
                prefix: false,
            }],
            kind: self.kind,
            ..Query::default()
        }
        .matcher()
    }
}

enum Token {
    Phrase(String, bool),
    Word(String),
}

/// Splits on white space, keeping `"…"` (and `-"…"`) together; an unclosed quote runs to
/// the end.
fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let negated_quote = c == '-' && {
            let mut ahead = chars.clone();
            ahead.next();
            ahead.peek() == Some(&'"')
        };
        if c == '"' || negated_quote {
            if negated_quote {
                chars.next();
            }
            chars.next();
            let phrase: String = chars.by_ref().take_while(|&c| c != '"').collect();
            out.push(Token::Phrase(phrase, negated_quote));
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '"' {
                break;
            }
            word.push(c);
            chars.next();
        }
        out.push(Token::Word(word));
    }
    out
}

/// The words of `text` as both databases' tokenizers split it: runs of letters and digits,
/// lower case. Everything else separates.
pub fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `INC-2`, `inc 2`, `inc2`, `#2`, `2` (any case, leading zeros): the incident's id.
fn key_of(text: &str) -> Option<IncidentId> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t
        .strip_prefix("inc")
        .map(|r| r.trim_start_matches(['-', ' ']))
        .or_else(|| t.strip_prefix('#'))
        .unwrap_or(&t);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .map(IncidentId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_negations_and_prefixes() {
        let q = Query::parse(r#"acquirer "payment gateway" -test time* gw-3"#);
        let m = q.matcher().unwrap();
        assert_eq!(
            m.fts5,
            r#""acquirer" AND "payment gateway" AND "time"* AND "gw 3" NOT "test""#
        );
        assert_eq!(
            m.tsquery,
            "'acquirer' & ('payment' <-> 'gateway') & 'time':* & ('gw' <-> '3') & !'test'"
        );
        assert!(m.codes.is_empty());
    }

    #[test]
    fn nothing_typed_can_reach_the_query_syntax() {
        let q = Query::parse(r#"a" OR b) NEAR(c ' ; DROP TABLE x; -- '' \ :* & | !"#);
        let m = q.matcher().unwrap();
        for bad in ["'' ", "\\", "NEAR(", "DROP TABLE", ";", "|"] {
            assert!(!m.fts5.contains(bad), "{bad} in {}", m.fts5);
        }
        assert!(!m.tsquery.contains('|') && !m.tsquery.contains(';'));
        // Only negations: nothing to find.
        assert_eq!(Query::parse("-foo -bar").matcher(), None);
        assert_eq!(Query::parse("   ").matcher(), None);
        assert_eq!(Query::parse("!!! ---").matcher(), None);
    }

    #[test]
    fn filters_and_kinds_are_taken_out_of_the_words() {
        let q = Query::parse(
            "severity:SEV1 service:payments status:resolved after:2026-01-01 kind:task error:timeout disk",
        );
        assert_eq!(q.filters.severity.as_deref(), Some("SEV1"));
        assert_eq!(q.filters.service.as_deref(), Some("payments"));
        assert_eq!(q.filters.status.as_deref(), Some("resolved"));
        assert_eq!(q.filters.after.as_deref(), Some("2026-01-01"));
        assert_eq!(q.kind, Some(Kind::Task));
        let m = q.matcher().unwrap();
        assert_eq!(m.fts5, r#""error timeout" AND "disk""#);
        assert_eq!(m.kind_clause("rowid"), " AND (rowid & 15) IN (5)");
        assert_eq!(
            Query::parse("kind:nonsense x").unknown,
            vec!["kind:nonsense"]
        );
    }

    #[test]
    fn keys_in_the_spellings_people_type() {
        for k in ["INC-2", "inc 2", "inc2", "Inc-002", "#2", "2", " 2 "] {
            assert_eq!(Query::parse(k).key, Some(IncidentId(2)), "{k}");
        }
        for k in ["INC-", "inc 2 down", "0", "2.5", "INC-99999999999"] {
            assert_eq!(Query::parse(k).key, None, "{k}");
        }
    }

    #[test]
    fn several_words_also_rank_as_a_phrase() {
        let q = Query::parse("payment gateway -test");
        assert_eq!(q.as_phrase().unwrap().fts5, r#""payment gateway""#);
        assert_eq!(Query::parse("payment").as_phrase(), None);
    }
}
