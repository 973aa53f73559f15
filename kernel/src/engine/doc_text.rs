//! Documentation from rust-analyzer's hover, as the pager and inspect show
//! it: rustdoc's hidden lines taken out of the examples, and the text form
//! written from the HTML form so headings, paragraphs and code blocks keep
//! their line breaks.
//!
//! Hidden lines are rustdoc's rule (The rustdoc book, "Documentation
//! tests", Hiding portions of the example): in a code block, a line that is
//! `#` alone or starts with `# ` is compiled but not shown; `##` shows as
//! `#`.

/// (text/plain, text/html) of a hover whose HTML form is `html`.
pub(super) fn tidy(html: &str) -> (String, String) {
    let html = without_hidden_lines(html);
    (plain_text(&html), html)
}

/// `html` with rustdoc's hidden lines removed from every `<pre><code>`
/// block that is not a signature (`language-rust` blocks are rust-analyzer's
/// signatures, never doc examples).
fn without_hidden_lines(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<pre><code") {
        let tag = start + "<pre><code".len();
        let Some(open_end) = rest[tag..].find('>').map(|i| tag + i + 1) else {
            break;
        };
        let Some(close) = rest[open_end..].find("</code></pre>").map(|i| open_end + i) else {
            break;
        };
        out.push_str(&rest[..open_end]);
        let code = &rest[open_end..close];
        if rest[start..open_end].contains("language-rust") {
            out.push_str(code);
        } else {
            let shown: Vec<String> = code
                .split_inclusive('\n')
                .filter_map(|line| {
                    let t = line.trim_start();
                    let body = t.trim_end_matches('\n');
                    if body == "#" || t.starts_with("# ") {
                        None
                    } else if let Some(escaped) = t.strip_prefix("##") {
                        Some(format!("{}#{escaped}", &line[..line.len() - t.len()]))
                    } else {
                        Some(line.to_string())
                    }
                })
                .collect();
            out.push_str(&shown.concat());
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// The text of `html`: block ends become blank lines, tags go, entities
/// are decoded.
fn plain_text(html: &str) -> String {
    let mut text = html.to_string();
    for block in [
        "</p>", "</pre>", "</h1>", "</h2>", "</h3>", "</h4>", "</ul>", "</ol>",
    ] {
        text = text.replace(block, &format!("{block}\n"));
    }
    text = text.replace("<hr />", "\n").replace("<li>", "- ");
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let mut lines: Vec<&str> = Vec::new();
    for l in out.lines().map(str::trim_end) {
        if l.is_empty() && lines.last().is_none_or(|p| p.is_empty()) {
            continue;
        }
        lines.push(l);
    }
    lines.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rust-analyzer's hover for `Vec::new`, as evcxr 0.22 renders it.
    const VEC_NEW: &str = "<pre><code class=\"language-rust\">alloc::vec::Vec\n</code></pre>\n<pre><code class=\"language-rust\">impl&lt;T&gt; Vec&lt;T, Global&gt;\npub const fn new() -&gt; Self\n</code></pre>\n<hr />\n<p>Constructs a new, empty <code>Vec&lt;T&gt;</code>.</p>\n<h1>Examples</h1>\n<pre><code># #![allow(unused_mut)]\nlet mut vec: Vec&lt;i32&gt; = Vec::new();\n#\n## not hidden\n</code></pre>\n";

    #[test]
    fn hidden_lines_go_and_the_text_keeps_its_breaks() {
        let (plain, html) = tidy(VEC_NEW);
        assert!(!html.contains("allow(unused_mut)"), "{html}");
        assert!(
            html.contains(
                "<pre><code>let mut vec: Vec&lt;i32&gt; = Vec::new();\n# not hidden\n</code></pre>"
            ),
            "{html}"
        );
        assert_eq!(
            plain,
            "alloc::vec::Vec\n\nimpl<T> Vec<T, Global>\npub const fn new() -> Self\n\nConstructs a new, empty Vec<T>.\n\nExamples\n\nlet mut vec: Vec<i32> = Vec::new();\n# not hidden"
        );
    }
}
