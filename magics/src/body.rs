//! Reading a magic's Rust body with syn: the task function of a map (a
//! one-argument `fn` or closure, its item and result types) and the job
//! names a run body uses. No IO.

use quote::ToTokens;
use syn::visit::Visit;

/// What a `%%slurm map` body provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapBody {
    /// The fn's name (None for a closure).
    pub fn_name: Option<String>,
    /// The item type `T` of `fn f(item: T)`.
    pub item_type: String,
    /// The result type `R`, if written.
    pub result_type: Option<String>,
    /// True if the body is a closure expression (else items ending in a fn).
    pub is_closure: bool,
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not a fn or closure with exactly one argument.
    #[error(
        "the body of %%slurm map must be a function of one argument, `fn f(item: T) -> R {{ ... }}`, \
         or a closure `|item: T| -> R {{ ... }}`: {0}"
    )]
    NotOneArgFn(String),
    /// The argument has no type.
    #[error("give the argument a type, e.g. `|item: i32| ...`, so items can be read from JSON")]
    UntypedArgument,
    /// The body is not valid Rust (with no place to point at: an empty body).
    #[error("the body is not valid Rust: {0}")]
    Syntax(String),
    /// The body is not valid Rust, at a place of it: `line` 1-based in the
    /// body, `column` 1-based in characters (syn's span, as rustc counts).
    #[error("the body is not valid Rust: {message}")]
    SyntaxAt {
        /// What syn says is wrong.
        message: String,
        /// Line of the body.
        line: usize,
        /// Column on that line.
        column: usize,
    },
}

/// syn's error at its place in the body; `wrapped_lines` lines were put
/// before the body to parse it (a `{` of its own); `parsed` is the text
/// syn read.
fn syntax_error(e: &syn::Error, wrapped_lines: usize, parsed: &str) -> BodyError {
    let start = e.span().start();
    let (mut line, mut column) = (start.line, start.column);
    let message = match e.to_string() {
        // proc-macro2 could not split the text into tokens: say what it
        // stopped at.
        m if m == "cannot parse string into token stream" => {
            let (message, place) = lex_error(parsed, line, column, wrapped_lines);
            if let Some(at) = place {
                (line, column) = at;
            }
            message
        }
        m => m,
    };
    match line.checked_sub(wrapped_lines).filter(|l| *l > 0) {
        Some(line) => BodyError::SyntaxAt {
            message,
            line,
            column: column.saturating_add(1),
        },
        None => BodyError::Syntax(message),
    }
}

/// Why proc-macro2's lexer stopped at `line` (1-based) and `column`
/// (0-based, in characters) of `text`: the token that starts there; for a
/// closing bracket that does not match, the bracket it would have closed
/// (its line counted in the body, `wrapped_lines` after the text's). When
/// the closer is the wrapper's own (the text's last line), the place to
/// point at is the open bracket instead, returned as `(line, column)`.
fn lex_error(
    text: &str,
    line: usize,
    column: usize,
    wrapped_lines: usize,
) -> (String, Option<(usize, usize)>) {
    let closer = text
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.chars().nth(column))
        .filter(|c| matches!(c, ')' | ']' | '}'));
    if let Some(closer) = closer
        && let Some((open, at_line, at_column)) = last_open(text, line, column)
    {
        if wrapped_lines > 0 && line == text.lines().count() {
            return (
                format!("this `{open}` never closes"),
                Some((at_line, at_column - 1)),
            );
        }
        let body_line = at_line.saturating_sub(wrapped_lines);
        return (
            format!(
                "this `{closer}` does not close the `{open}` on line {body_line}, column {at_column}, which never closes"
            ),
            None,
        );
    }
    (lex_token(text, line, column).to_string(), None)
}

/// The bracket still open at `line`, `column` (as [`lex_error`]) of
/// `text`, with its 1-based line and column, skipping strings, character
/// literals and comments (the lexer read all of them up to there).
pub fn last_open(text: &str, line: usize, column: usize) -> Option<(char, usize, usize)> {
    let mut open: Vec<(char, usize, usize)> = Vec::new();
    let mut chars = text
        .lines()
        .enumerate()
        .flat_map(|(l, s)| {
            s.chars()
                .chain(['\n'])
                .enumerate()
                .map(move |(c, ch)| (l + 1, c, ch))
        })
        .take_while(|&(l, c, _)| (l, c) < (line, column))
        .peekable();
    while let Some((l, c, ch)) = chars.next() {
        match ch {
            '(' | '[' | '{' => open.push((ch, l, c + 1)),
            ')' | ']' | '}' => {
                open.pop();
            }
            '"' => {
                while let Some((_, _, s)) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek().is_some_and(|p| p.2 == '/') => {
                while chars.next_if(|p| p.2 != '\n').is_some() {}
            }
            '/' if chars.peek().is_some_and(|p| p.2 == '*') => {
                let mut last = ' ';
                for (_, _, s) in chars.by_ref() {
                    if last == '*' && s == '/' {
                        break;
                    }
                    last = s;
                }
            }
            // A character literal ('{', '\'') rather than a lifetime.
            '\'' => {
                let ahead: Vec<char> = chars.clone().take(3).map(|p| p.2).collect();
                let skip = match ahead.as_slice() {
                    ['\\', _, '\''] => 3,
                    [_, '\'', ..] => 2,
                    _ => 0,
                };
                for _ in 0..skip {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    open.pop()
}

/// What token starts at `line`, `column` of `text`, as [`lex_error`].
fn lex_token(text: &str, line: usize, column: usize) -> &'static str {
    let rest: String = text
        .lines()
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .chars()
        .skip(column)
        .collect();
    let raw_string = rest
        .strip_prefix("br")
        .or_else(|| rest.strip_prefix('r'))
        .is_some_and(|r| r.trim_start_matches('#').starts_with('"'));
    match rest.chars().next() {
        _ if raw_string => "this raw string never closes: its closing `\"` (and `#`s) is missing",
        Some('"') => "this string never closes: a `\"` is missing",
        Some('b' | 'c') if rest[1..].starts_with('"') => {
            "this string never closes: a `\"` is missing"
        }
        Some('\'') => "this character literal never closes: a `'` is missing",
        Some('b') if rest.starts_with("b'") => {
            "this character literal never closes: a `'` is missing"
        }
        Some('/') if rest.starts_with("/*") => "this comment never closes: a `*/` is missing",
        Some('(') => "this `(` never closes",
        Some('[') => "this `[` never closes",
        Some('{') => "this `{` never closes",
        Some(')') => "this `)` closes nothing",
        Some(']') => "this `]` closes nothing",
        Some('}') => "this `}` closes nothing",
        _ => "a `)`, `]` or `}` here closes nothing, or a bracket opened before never closes",
    }
}

fn tokens(t: &impl ToTokens) -> String {
    t.to_token_stream().to_string()
}

/// Parses a map body.
pub fn parse_map_body(body: &str) -> Result<MapBody, BodyError> {
    let file = syn::parse_file(body);
    if let Ok(file) = file {
        let f = file
            .items
            .iter()
            .rev()
            .find_map(|i| match i {
                syn::Item::Fn(f) => Some(f),
                _ => None,
            })
            .ok_or_else(|| BodyError::NotOneArgFn("no `fn` found".into()))?;
        if f.sig.inputs.len() != 1 {
            return Err(BodyError::NotOneArgFn(format!(
                "`{}` takes {} arguments",
                f.sig.ident,
                f.sig.inputs.len()
            )));
        }
        let item_type = match f.sig.inputs.first() {
            Some(syn::FnArg::Typed(p)) => tokens(&*p.ty),
            _ => {
                return Err(BodyError::NotOneArgFn(
                    "a method (`self`) cannot be a task".into(),
                ));
            }
        };
        let result_type = match &f.sig.output {
            syn::ReturnType::Type(_, ty) => Some(tokens(&**ty)),
            syn::ReturnType::Default => Some("()".into()),
        };
        return Ok(MapBody {
            fn_name: Some(f.sig.ident.to_string()),
            item_type,
            result_type,
            is_closure: false,
        });
    }
    // Leading lines kept: the error's line is the body's.
    let closure: syn::ExprClosure = match syn::parse_str(body.trim_end().trim_end_matches(';')) {
        Ok(c) => c,
        Err(_) if syn::parse_str::<syn::Block>(&format!("{{\n{body}\n}}")).is_ok() => {
            return Err(BodyError::NotOneArgFn(
                "found statements, not a fn or closure".into(),
            ));
        }
        Err(e) => {
            // A body that starts as a closure gets the closure's error, not
            // the one from reading it as items ("expected one of: `fn`, …").
            let head = body.trim_start();
            let closure_like = head.starts_with('|') || head.starts_with("move");
            let error = match &file {
                Err(f) if !closure_like => f,
                _ => &e,
            };
            // syn places "unexpected end of input" nowhere: it is where the
            // body ends.
            let message = error.to_string();
            if message.starts_with("unexpected end of input") {
                let text = body.trim_end().trim_end_matches(';');
                let line = text.lines().count().max(1);
                let column = text.lines().last().map_or(0, |l| l.chars().count()) + 1;
                return Err(BodyError::SyntaxAt {
                    message,
                    line,
                    column,
                });
            }
            let parsed = if std::ptr::eq(error, &e) {
                body.trim_end().trim_end_matches(';')
            } else {
                body
            };
            return Err(syntax_error(error, 0, parsed));
        }
    };
    if closure.inputs.len() != 1 {
        return Err(BodyError::NotOneArgFn(format!(
            "the closure takes {} arguments",
            closure.inputs.len()
        )));
    }
    let item_type = match closure.inputs.first() {
        Some(syn::Pat::Type(p)) => tokens(&*p.ty),
        _ => return Err(BodyError::UntypedArgument),
    };
    let result_type = match &closure.output {
        syn::ReturnType::Type(_, ty) => Some(tokens(&**ty)),
        syn::ReturnType::Default => None,
    };
    Ok(MapBody {
        fn_name: None,
        item_type,
        result_type,
        is_closure: true,
    })
}

/// The identifiers a format string names inline: `{x}`, `{x:?}`, `{x:>8}`.
fn inline_format_names(fmt: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = fmt;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(stripped) = rest.strip_prefix('{') {
            rest = stripped;
            continue;
        }
        let end = rest.find(['}', ':']).unwrap_or(rest.len());
        let name = rest[..end].trim();
        if crate::grammar::is_identifier(name) {
            out.push(name.to_string());
        }
        rest = &rest[end..];
    }
    out
}

/// Single-segment names a body mentions (candidates for job names and
/// notebook variables), including inline format arguments.
pub fn names_used(body: &str) -> Result<Vec<String>, BodyError> {
    let wrapped = format!("{{\n{body}\n}}");
    let block: syn::Block = syn::parse_str(&wrapped).map_err(|e| syntax_error(&e, 1, &wrapped))?;
    struct Names(Vec<String>);
    impl<'a> Visit<'a> for Names {
        fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
            if p.qself.is_none()
                && p.path.segments.len() == 1
                && let Some(seg) = p.path.segments.first()
            {
                let name = seg.ident.to_string();
                if !self.0.contains(&name) {
                    self.0.push(name);
                }
            }
            syn::visit::visit_expr_path(self, p);
        }
        fn visit_macro(&mut self, m: &'a syn::Macro) {
            // format!/println!/vec! arguments: parse them as expressions.
            if let Ok(args) = m.parse_body_with(
                syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
            ) {
                for a in &args {
                    self.visit_expr(a);
                    // Inline format arguments: `format!("{label}")`.
                    if let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) = a
                    {
                        for name in inline_format_names(&s.value()) {
                            if !self.0.contains(&name) {
                                self.0.push(name);
                            }
                        }
                    }
                }
            }
        }
    }
    let mut v = Names(Vec::new());
    v.visit_block(&block);
    Ok(v.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_format_strings() {
        let names = names_used("format!(\"{label}{{x}}{n:>4}{}\", k)").expect("parses");
        assert_eq!(names, vec!["label", "n", "k"]);
    }

    #[test]
    fn fn_body() {
        let b = parse_map_body("fn process(chunk: Vec<i64>) -> i64 { chunk.iter().sum() }")
            .expect("ok");
        assert_eq!(b.fn_name.as_deref(), Some("process"));
        assert_eq!(b.item_type, "Vec < i64 >");
        assert_eq!(b.result_type.as_deref(), Some("i64"));
    }

    #[test]
    fn helper_items_then_fn() {
        let b = parse_map_body(
            "fn helper(x: u32) -> u32 { x }\nfn square(x: u32) -> u32 { helper(x) * x }",
        )
        .expect("ok");
        assert_eq!(b.fn_name.as_deref(), Some("square"));
    }

    #[test]
    fn closure_body() {
        let b = parse_map_body("|x: u64| -> u64 { x * 2 }").expect("ok");
        assert!(b.is_closure);
        assert_eq!(b.item_type, "u64");
        let b = parse_map_body("|x: u64| x * 2").expect("ok");
        assert_eq!(b.result_type, None);
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse_map_body("fn f(a: i32, b: i32) -> i32 { a }"),
            Err(BodyError::NotOneArgFn(_))
        ));
        assert!(matches!(
            parse_map_body("|x| x"),
            Err(BodyError::UntypedArgument)
        ));
        assert!(matches!(
            parse_map_body("let x = 1;"),
            Err(BodyError::NotOneArgFn(_))
        ));
        assert!(matches!(
            parse_map_body("fn f(x: i32) -> i32 {"),
            Err(BodyError::SyntaxAt { .. })
        ));
    }

    /// A syntax error points at its line and column of the body, whatever
    /// the body is wrapped in to be parsed.
    #[test]
    fn syntax_errors_have_their_place() {
        let at = |e: BodyError| match e {
            BodyError::SyntaxAt { line, column, .. } => (line, column),
            other => panic!("no place: {other:?}"),
        };
        assert_eq!(
            at(parse_map_body("fn f(x: u32) -> u32 {\n    x + )\n}").expect_err("bad")),
            (2, 9)
        );
        assert_eq!(
            at(names_used("let a = 1;\nlet x = ;\nx").expect_err("bad")),
            (2, 9)
        );
        assert_eq!(at(names_used("lr + )").expect_err("bad")), (1, 6));
    }

    #[test]
    fn names_in_run_body() {
        let names =
            names_used("let t = merge(&partial);\nprintln!(\"{}\", other.len());\nt").expect("ok");
        assert!(names.contains(&"partial".to_string()));
        assert!(names.contains(&"other".to_string()));
        assert!(names.contains(&"t".to_string()));
    }
}

#[cfg(test)]
mod syntax_and_names {
    #[test]
    fn a_closure_with_a_syntax_error_gets_the_closures_error() {
        let e = super::parse_map_body("\n|x: u64| x +").expect_err("not valid");
        let text = e.to_string();
        assert!(!text.contains("expected one of: `fn`"), "{text}");
        assert!(
            matches!(e, super::BodyError::SyntaxAt { line: 2, .. }),
            "{e:?}"
        );
    }

    /// What the lexer stopped at, named, at its place: for a map body
    /// (closure or fn) and a run body.
    #[test]
    fn an_unclosed_string_bracket_or_comment_says_which() {
        let said = |e: super::BodyError| match e {
            super::BodyError::SyntaxAt {
                message,
                line,
                column,
            } => (message, line, column),
            other => panic!("no place: {other:?}"),
        };
        let string = "this string never closes: a `\"` is missing";
        for (body, message, line, column) in [
            ("|x: u64| { let s = \"abc; x }", string, 1, 20),
            ("|x: u64| { x + 1", "this `{` never closes", 1, 10),
            ("|x: u64| x + 1)", "this `)` closes nothing", 1, 15),
            (
                "fn f(x: u64) -> u64 {\n    let s = r#\"a;\n    x\n}",
                "this raw string never closes: its closing `\"` (and `#`s) is missing",
                2,
                13,
            ),
            (
                "fn f(x: u64) -> u64 {\n    /* x\n}",
                "this comment never closes: a `*/` is missing",
                2,
                5,
            ),
            (
                "fn f(x: u64) -> u64 {\n    x[0\n}",
                "this `}` does not close the `[` on line 2, column 6, which never closes",
                3,
                1,
            ),
            (
                "|x: u64| { let s = '{'; f(x, \"(\" }",
                "this `}` does not close the `(` on line 1, column 26, which never closes",
                1,
                34,
            ),
        ] {
            let got = said(super::parse_map_body(body).expect_err(body));
            assert_eq!(got, (message.to_string(), line, column), "{body}");
        }
        for (body, message, line, column) in [
            ("let s = \"abc;", string, 1, 9),
            ("let v = vec![1, 2;\nv", "this `[` never closes", 1, 13),
        ] {
            let got = said(super::names_used(body).expect_err(body));
            assert_eq!(got, (message.to_string(), line, column), "{body}");
        }
    }

    #[test]
    fn names_outside_ascii_are_used_names() {
        let used = super::names_used("fn f(x: i64) -> i64 { x + 数据 }").expect("parses");
        assert!(used.contains(&"数据".to_string()), "{used:?}");
    }
}
