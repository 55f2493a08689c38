//! Markdown to sanitized HTML. Called once when text is saved; the HTML is stored beside
//! its source so pages never re-render it.

use pulldown_cmark::{html, Options, Parser};

/// Renders CommonMark + GFM tables, strikethrough and task lists, then sanitizes with
/// ammonia (no scripts, no event handlers, no `javascript:` URLs; links get `rel=noreferrer`).
pub fn render(source: &str) -> String {
    if let Some(html) = plain_paragraph(source) {
        return html;
    }
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    // An attached image links to itself: click for full size.
    let mut linked_images = Vec::new();
    let events = Parser::new_ext(source, options()).flat_map(|event| {
        use pulldown_cmark::{Event, LinkType, Tag, TagEnd};
        match event {
            Event::Start(Tag::Image { ref dest_url, .. }) => {
                let attached = dest_url.starts_with("attachment:");
                linked_images.push(attached);
                let image = attachment_urls(event);
                match (&image, attached) {
                    (Event::Start(Tag::Image { dest_url, .. }), true) => vec![
                        Event::Start(Tag::Link {
                            link_type: LinkType::Inline,
                            dest_url: dest_url.clone(),
                            title: "".into(),
                            id: "".into(),
                        }),
                        image,
                    ],
                    _ => vec![image],
                }
            }
            Event::End(TagEnd::Image) if linked_images.pop() == Some(true) => {
                vec![event, Event::End(TagEnd::Link)]
            }
            other => vec![attachment_urls(other)],
        }
    });
    html::push_html(&mut unsafe_html, events);
    builder().clean(&unsafe_html).to_string()
}

/// `attachment:41` (how text refers to an attachment, so it travels with the text) is
/// served at `/attachments/41`; images get a full-size link around them.
fn attachment_urls(event: pulldown_cmark::Event<'_>) -> pulldown_cmark::Event<'_> {
    use pulldown_cmark::{Event, Tag};
    let served = |url: &str| {
        url.strip_prefix("attachment:")
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
            .map(|id| format!("/attachments/{id}").into())
    };
    match event {
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: served(&dest_url).unwrap_or(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: served(&dest_url).unwrap_or(dest_url),
            title,
            id,
        }),
        other => other,
    }
}

/// Markdown source with its HTML. Rendering is the slow part of a write: a handler makes
/// one before handing the write to the database writer, so no write renders.
#[derive(Clone, Debug)]
pub struct Rendered {
    source: String,
    html: String,
}

impl Rendered {
    pub fn new(source: String) -> Self {
        let html = render(&source);
        Rendered { source, html }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn html(&self) -> &str {
        &self.html
    }
}

/// `text` as Markdown that renders as exactly that text (titles and names quoted in an
/// entry: `Checkout <b>fails</b>` must not turn bold).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// CommonMark plus GFM tables, strikethrough and task lists.
fn options() -> Options {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    options
}

/// The sanitizer's policy.
fn builder() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder
        // `noreferrer` implies `noopener`; `nofollow` meant nothing behind a sign-in.
        .link_rel(Some("noreferrer"))
        // Browsers drop tabs and newlines inside URLs (`jav&#x09;ascript:`), so a URL with
        // control characters is not trusted even when it parses as a relative link.
        .attribute_filter(|_, attribute, value| {
            if matches!(attribute, "href" | "src") && value.chars().any(|c| c.is_control()) {
                None
            } else {
                Some(value.into())
            }
        });
    builder
}

/// The rendering of a one-line text with nothing Markdown or HTML would act on, without
/// running the parser and the sanitizer (most timeline entries are such lines, and the two
/// cost more than the rest of an append). `None` when the full path is needed.
fn plain_paragraph(source: &str) -> Option<String> {
    let first = source.chars().next()?;
    let special = |c: char| {
        matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '['
                | ']'
                | '<'
                | '>'
                | '&'
                | '!'
                | '|'
                | '~'
                | '\n'
                | '\r'
                | '\t'
        )
    };
    if source.chars().any(special) || first.is_whitespace() || source.ends_with(char::is_whitespace)
    {
        return None;
    }
    // Line-start constructs: headings, quotes, lists, rules, ordered lists.
    if matches!(first, '#' | '>' | '-' | '+' | '=' | '*') {
        return None;
    }
    let digits = source.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && source[digits..].starts_with(['.', ')']) {
        return None;
    }
    // Quotes need no escaping in element content (the sanitizer writes them bare too).
    Some(format!("<p>{source}</p>\n"))
}

#[cfg(test)]
mod tests {
    use super::{builder, escape, options, plain_paragraph, render};
    use proptest::prelude::*;

    #[test]
    fn attachments_are_served_here_and_images_open_full_size() {
        let html = render("Graph: ![error rate](attachment:4) and [log](attachment:5)");
        assert!(
            html.contains(r#"<a href="/attachments/4" rel="noreferrer"><img src="/attachments/4" alt="error rate"></a>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<a href="/attachments/5" rel="noreferrer">log</a>"#),
            "{html}"
        );
        // Not an id: left alone (and the sanitizer drops the unknown scheme).
        assert!(!render("![x](attachment:../../etc)").contains("/attachments/"));
        // Other images are not wrapped.
        assert!(!render("![x](https://example.com/x.png)").contains("<a "));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        /// The shortcut renders exactly what the parser and sanitizer would.
        #[test]
        fn plain_lines_render_as_the_full_path_does(text in "[a-zA-Z0-9 .,;:?'\"()/=+#%$@^{}-]{1,60}[a-zé🔥]?") {
            if let Some(fast) = plain_paragraph(&text) {
                let mut unsafe_html = String::new();
                pulldown_cmark::html::push_html(&mut unsafe_html, pulldown_cmark::Parser::new_ext(&text, options()));
                let slow = builder().clean(&unsafe_html).to_string();
                prop_assert_eq!(fast, slow);
            }
        }
    }

    #[test]
    fn escaped_text_renders_as_itself() {
        for text in [
            "Checkout <b>fails</b>",
            "*not* _em_ `code` [link](x) a|b ~~s~~ #1 &amp; \\",
        ] {
            let html = render(&escape(text));
            let shown = html
                .trim()
                .trim_start_matches("<p>")
                .trim_end_matches("</p>")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
                .replace("&quot;", "\"");
            assert_eq!(shown, text, "{html}");
        }
    }

    #[test]
    fn renders_and_sanitizes() {
        let html = render("**bold** [x](https://example.com) <script>alert(1)</script>");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains("href=\"https://example.com\""));
        assert!(!html.contains("<script"));
        assert!(!render("[x](javascript:alert(1))").contains("javascript:"));
        assert!(!render("<img src=x onerror=alert(1)>").contains("onerror"));
        assert!(!render("<a href=\"jav&#x09;ascript:alert(1)\">x</a>").contains("href"));
        assert!(render("[ok](/incidents/INC-1)").contains("href=\"/incidents/INC-1\""));
    }
}
