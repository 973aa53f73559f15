//! ITEMS of a map cell: where they come from ([`Items`]) and how they are
//! written into the job directory (`items.jsonl` + `items.idx`), or read
//! element-wise from an upstream job's results.

use std::io::{BufRead, Write as _};

use crate::error::{MagicError, io};
use crate::jobdir::JobDir;
use crate::ledger::JobRecord;
use crate::pipeline::bind::BIND_PANIC_PREFIX;
use crate::session::{EvalError, Session};

/// Refuse arrays larger than this many items (Slurm's MaxArraySize is far
/// below). The session stops reading ITEMS there, so an endless iterator
/// (`std::iter::repeat(1)`) ends with an error instead of filling the disk.
pub(super) const MAX_ITEMS: usize = 10_000_000;

/// Where the items come from.
pub(super) enum Items {
    /// `a..b` / `a..=b` with integer literals: `[start, end)` (no session
    /// compile needed).
    Range(i128, i128),
    /// A Rust expression of the notebook that iterates over `Serialize`
    /// values (a variable, `0..n`, `data.iter().filter(..)`, `&v[..10]`),
    /// evaluated in the session.
    Expression(String),
    /// An earlier map job: element i reads its item i (`aftercorr`).
    Upstream(JobRecord),
}

/// How an ITEMS expression is iterated in the session: a place (a variable,
/// a field, an element) is borrowed so the session keeps it; anything else
/// (a range, an iterator chain, `vec![..]`, `&v[..]`) is iterated by value.
///
/// # Errors
/// [`MagicError::Items`] when the text is not a Rust expression.
pub(super) fn iteration(expr: &str) -> Result<String, MagicError> {
    Ok(if is_place(expr)? {
        format!("(&{expr}).into_iter()")
    } else {
        format!("({expr}).into_iter()")
    })
}

/// Whether an ITEMS expression is a place (a variable, a field, an
/// element): iterating it borrows, runs no code of the person's, and so
/// may be done twice.
///
/// # Errors
/// [`MagicError::Items`] when the text is not a Rust expression.
pub(super) fn is_place(expr: &str) -> Result<bool, MagicError> {
    let parsed: syn::Expr = syn::parse_str(expr)
        .map_err(|e| MagicError::Items(format!("ITEMS `{expr}` is not a Rust expression: {e}")))?;
    Ok(matches!(
        parsed,
        syn::Expr::Path(_) | syn::Expr::Field(_) | syn::Expr::Index(_)
    ))
}

/// `a..b` / `a..=b` with integer literals; None if `s` is not such a range
/// (then it is an expression for the session).
pub(super) fn parse_range(s: &str) -> Option<Result<(i128, i128), MagicError>> {
    let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
        (a, b, true)
    } else {
        let (a, b) = s.split_once("..")?;
        (a, b, false)
    };
    let parse = |x: &str| x.trim().replace('_', "").parse::<i128>();
    // Bounds that are not integer literals (`0..n`): an expression for the session.
    let (a, b) = (parse(a).ok()?, parse(b).ok()?);
    let end = if inclusive { b.checked_add(1) } else { Some(b) };
    Some(
        end.map(|end| (a, end.max(a)))
            .ok_or_else(|| MagicError::Items(format!("`{s}` is too large a range"))),
    )
}

/// Writes the items of `[a, b)` and returns their count.
pub(super) fn write_range(dir: &JobDir, a: i128, b: i128) -> Result<usize, MagicError> {
    let count = b
        .checked_sub(a)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| MagicError::Items("the range is too large".into()))?;
    if count > MAX_ITEMS {
        return Ok(count);
    }
    let f = std::fs::File::create(dir.items()).map_err(io("writing items"))?;
    let mut w = std::io::BufWriter::new(f);
    for i in a..b {
        writeln!(w, "{i}").map_err(io("writing items"))?;
    }
    w.flush().map_err(io("writing items"))?;
    write_index(dir)
}

/// Writes one JSON line per item (already serialized) and returns the count.
pub(super) fn write_lines(dir: &JobDir, lines: &[String]) -> Result<usize, MagicError> {
    let f = std::fs::File::create(dir.items()).map_err(io("writing the items"))?;
    let mut w = std::io::BufWriter::new(f);
    for l in lines {
        writeln!(w, "{l}").map_err(io("writing the items"))?;
    }
    w.flush().map_err(io("writing the items"))?;
    write_index(dir)
}

/// The session code that serializes the items of an ITEMS expression into
/// `items.jsonl`, one line each in `formats` (`crossing::encode_expr`),
/// stopping at [`MAX_ITEMS`]; its value is the count.
///
/// # Errors
/// [`MagicError::Items`] when the text is not a Rust expression.
pub(super) fn expression_code(
    dir: &JobDir,
    expr: &str,
    formats: crate::crossing::Formats,
) -> Result<String, MagicError> {
    let iter = iteration(expr)?;
    let p = BIND_PANIC_PREFIX;
    Ok(format!(
        "{{ use std::io::Write as _; \
let mut __sluice_f = std::io::BufWriter::new(std::fs::File::create(r#\"{path}\"#).expect(\"{p}cannot create the items file\")); \
let mut __sluice_n: usize = 0; \
for __sluice_it in {iter} {{ if __sluice_n == {max} {{ panic!(\"{p}ITEMS yields more than {max} items (an endless iterator? take what you need: `.take(n)`)\"); }} let __sluice_line = {enc}; __sluice_f.write_all(__sluice_line.as_bytes()).expect(\"{p}cannot write an item\"); __sluice_f.write_all(b\"\\n\").expect(\"{p}cannot write an item\"); __sluice_n += 1; }} \
__sluice_f.flush().expect(\"{p}cannot write the items\"); __sluice_n }}",
        path = dir.items().display(),
        max = MAX_ITEMS,
        enc = crate::crossing::encode_expr(
            "&__sluice_it",
            p,
            "format!(\"item {}\", __sluice_n)",
            formats
        ),
    ))
}

/// Evaluates [`expression_code`] (`code`) in the session and returns the
/// count of items written.
///
/// # Errors
/// As [`expression_error`] says.
pub(super) fn eval_expression(
    dir: &JobDir,
    expr: &str,
    code: &str,
    session: &mut dyn Session,
) -> Result<usize, MagicError> {
    crate::phase::timed("items (session)", || session.eval(code))
        .map_err(|source| expression_error(expr, session, source))?;
    write_index(dir)
}

/// What a failed evaluation of an ITEMS expression means for the person:
/// [`MagicError::Items`] when the items are not `Serialize` or the
/// expression does not iterate; [`MagicError::ItemsEval`] for any other
/// failure (an unknown name, a panic), with what the session said.
pub(super) fn expression_error(expr: &str, session: &dyn Session, source: EvalError) -> MagicError {
    let shown = match session.variables().into_iter().find(|(n, _)| n == expr) {
        Some((_, ty)) => format!("`{expr}` ({ty})"),
        None => format!("`{expr}`"),
    };
    if source.unsatisfied_trait("Serialize") {
        MagicError::Items(format!(
            "{shown} cannot be sent to tasks: its items are not serde::Serialize. Add `:dep serde = {{ version = \"1\", features = [\"derive\"] }}` in the first cell and `#[derive(serde::Serialize, serde::Deserialize)]` on the type"
        ))
    } else if source.unsatisfied_trait("IntoIterator")
        || source.unsatisfied_trait("is not an iterator")
    {
        MagicError::Items(format!(
            "{shown} is not a collection of items (a Vec, slice, array, range or iterator)"
        ))
    } else if !matches!(source, EvalError::Compile(_)) {
        MagicError::ItemsEval {
            what: format!("evaluating ITEMS {shown} in the session failed"),
            source,
        }
    } else {
        MagicError::ItemsEval {
            what: format!(
                "ITEMS {shown} must be a Rust expression of the notebook that iterates over serde::Serialize values (a variable, 0..n, v.iter().filter(..), &v[..10]), or an earlier map job's NAME; evaluating it failed"
            ),
            source,
        }
    }
}

/// Writes `items.idx` (u64 LE byte offset of each line) and returns the count.
pub(super) fn write_index(dir: &JobDir) -> Result<usize, MagicError> {
    let f = std::fs::File::open(dir.items()).map_err(io("reading items"))?;
    let mut r = std::io::BufReader::new(f);
    let mut idx = std::io::BufWriter::new(
        std::fs::File::create(dir.items_index()).map_err(io("writing items.idx"))?,
    );
    let mut offset: u64 = 0;
    let mut count = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(io("reading items"))?;
        if n == 0 {
            break;
        }
        idx.write_all(&offset.to_le_bytes())
            .map_err(io("writing items.idx"))?;
        offset += n as u64;
        count += 1;
    }
    idx.flush().map_err(io("writing items.idx"))?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(matches!(parse_range("0..10"), Some(Ok((0, 10)))));
        assert!(matches!(parse_range("1..=3"), Some(Ok((1, 4)))));
        assert!(matches!(parse_range("5..2"), Some(Ok((5, 5)))));
        assert!(parse_range("a..b").is_none(), "bounds from the notebook");
        assert!(parse_range("0..n").is_none());
        assert!(parse_range("xs").is_none());
    }

    #[test]
    fn places_are_borrowed_and_the_rest_iterated_by_value() {
        assert_eq!(iteration("xs").ok().as_deref(), Some("(&xs).into_iter()"));
        assert_eq!(
            iteration("cfg.items").ok().as_deref(),
            Some("(&cfg.items).into_iter()")
        );
        assert_eq!(
            iteration("0..n").ok().as_deref(),
            Some("(0..n).into_iter()")
        );
        assert_eq!(
            iteration("(0..n).step_by(2)").ok().as_deref(),
            Some("((0..n).step_by(2)).into_iter()")
        );
        assert_eq!(
            iteration("&docs[..10]").ok().as_deref(),
            Some("(&docs[..10]).into_iter()")
        );
        assert_eq!(
            iteration("vec![a, b]").ok().as_deref(),
            Some("(vec![a, b]).into_iter()")
        );
        assert!(iteration("0..").is_ok());
        assert!(iteration("let x").is_err());
        assert!(iteration("a b").is_err());
    }

    #[test]
    fn index_offsets() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = JobDir::new(tmp.path());
        std::fs::write(dir.items(), "1\n22\n333\n").expect("write");
        assert_eq!(write_index(&dir).expect("index"), 3);
        let idx = std::fs::read(dir.items_index()).expect("read");
        let offs: Vec<u64> = idx
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8")))
            .collect();
        assert_eq!(offs, vec![0, 2, 5]);
    }
}
