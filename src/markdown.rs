//! Markdown to sanitized HTML. Called once when text is saved; the HTML is stored beside
//! its source so pages never re-render it.

use pulldown_cmark::{html, Options, Parser};

/// Renders CommonMark + GFM tables, strikethrough and task lists, then sanitizes with
/// ammonia (no scripts, no event handlers, no `javascript:` URLs; links get `rel=noopener`).
pub fn render(source: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(source, options));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        // Browsers drop tabs and newlines inside URLs (`jav&#x09;ascript:`), so a URL with
        // control characters is not trusted even when it parses as a relative link.
        .attribute_filter(|_, attribute, value| {
            if matches!(attribute, "href" | "src") && value.chars().any(|c| c.is_control()) {
                None
            } else {
                Some(value.into())
            }
        })
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

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
