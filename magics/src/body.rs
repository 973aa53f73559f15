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
/// before the body to parse it (a `{` of its own).
fn syntax_error(e: &syn::Error, wrapped_lines: usize) -> BodyError {
    let start = e.span().start();
    // proc-macro2's words for a bracket that closes nothing or never closes.
    let message = match e.to_string() {
        m if m == "cannot parse string into token stream" => {
            "a `)`, `]` or `}` here closes nothing, or a bracket opened before never closes".into()
        }
        m => m,
    };
    match start.line.checked_sub(wrapped_lines).filter(|l| *l > 0) {
        Some(line) => BodyError::SyntaxAt {
            message,
            line,
            column: start.column.saturating_add(1),
        },
        None => BodyError::Syntax(message),
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
            return Err(syntax_error(error, 0));
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
    let block: syn::Block =
        syn::parse_str(&format!("{{\n{body}\n}}")).map_err(|e| syntax_error(&e, 1))?;
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

    #[test]
    fn names_outside_ascii_are_used_names() {
        let used = super::names_used("fn f(x: i64) -> i64 { x + 数据 }").expect("parses");
        assert!(used.contains(&"数据".to_string()), "{used:?}");
    }
}
