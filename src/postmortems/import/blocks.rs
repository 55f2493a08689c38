//! A document's blocks as lines, found with pulldown-cmark so that headings, lists and code
//! blocks are recognised as Markdown defines them.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Unit {
    /// A `#` heading.
    Heading(usize, String),
    /// One source line of a paragraph, list item or code block.
    Line(usize, String),
    /// A boundary between blocks (a blank line in the source).
    Break,
}

/// The document's blocks as lines, found with a Markdown parser so that headings, lists
/// and code blocks are recognised as Markdown defines them.
pub(super) fn units(text: &str) -> Vec<Unit> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset);
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut item_depth = 0usize;
    for (event, range) in
        Parser::new_ext(text, Options::ENABLE_TASKLISTS | Options::ENABLE_TABLES).into_offset_iter()
    {
        match event {
            Event::Start(Tag::Heading { .. }) if depth == 0 => {
                let raw = &text[range.clone()];
                let title = raw
                    .trim()
                    .trim_start_matches('#')
                    .trim_end_matches('#')
                    .trim();
                let title = title
                    .lines()
                    .next()
                    .unwrap_or(title)
                    .trim_end_matches(['=', '-'])
                    .trim();
                out.push(Unit::Break);
                out.push(Unit::Heading(line_of(range.start), title.to_string()));
                depth += 1;
            }
            Event::Start(Tag::Item) => {
                item_depth += 1;
                if item_depth == 1 && depth == 1 {
                    let raw = &text[range.clone()];
                    for (n, l) in raw.trim_end().split('\n').enumerate() {
                        out.push(Unit::Line(
                            line_of(range.start) + n,
                            l.trim_end_matches('\r').to_string(),
                        ));
                    }
                }
                depth += 1;
            }
            Event::Start(tag) => {
                if depth == 0 {
                    out.push(Unit::Break);
                    let raw = &text[range.clone()];
                    let keep = !matches!(tag, Tag::List(_));
                    if keep {
                        for (n, l) in raw.trim_end().split('\n').enumerate() {
                            out.push(Unit::Line(
                                line_of(range.start) + n,
                                l.trim_end_matches('\r').to_string(),
                            ));
                        }
                    }
                }
                depth += 1;
            }
            Event::End(TagEnd::Item) => {
                item_depth = item_depth.saturating_sub(1);
                depth = depth.saturating_sub(1);
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Html(html) if depth == 0 => {
                out.push(Unit::Break);
                for (n, l) in html.trim_end().split('\n').enumerate() {
                    out.push(Unit::Line(
                        line_of(range.start) + n,
                        l.trim_end_matches('\r').to_string(),
                    ));
                }
            }
            Event::Rule => out.push(Unit::Break),
            _ => {}
        }
    }
    out
}
