//! A task's result as a Rust user reads it: what `{:?}` prints, not the
//! shape serde gave it in JSON (`{"Converged": 7}`) or RON
//! (`Diverged(at: 2.5)`). The result's type (the job's `result_type`) and
//! the notebook's definitions of its structs and enums (`shape.rs`) say
//! what each part of the value text is; `seed.rs` reads the text by them
//! into a [`Node`], which writes itself as Debug does: tuple variants
//! `V(1, 2)`, struct variants and structs `V { x: 1 }`, unit variants `V`,
//! `Some(..)`/`None` where the type is an `Option`, maps `{"k": 1}`. A
//! type sluice cannot resolve gives no [`Reader`]: the caller keeps its
//! own rendering. No IO.

mod seed;
mod shape;

use shape::{Defs, Shape};
use sluice_runtime::value::RON_PREFIX;

use crate::notebook::Notebook;

/// A value read by its type, as Debug writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `true`, `false`.
    Bool(bool),
    /// An integer, exactly as written (any width).
    Int(String),
    /// A float (`NaN`, `inf` too).
    Float(f64),
    /// `'c'`.
    Char(char),
    /// `"text"`.
    Str(String),
    /// `()`.
    Unit,
    /// An `Option`'s `None`.
    None,
    /// An `Option`'s `Some`.
    Some(Box<Node>),
    /// `[a, b]`.
    List(Vec<Node>),
    /// `{a, b}`.
    Set(Vec<Node>),
    /// `(a, b)`.
    Tuple(Vec<Node>),
    /// `{k: v}`.
    Map(Vec<(Node, Node)>),
    /// A unit variant or struct (`Stalled`, no fields), a tuple variant or
    /// struct (`Converged(7)`).
    Named(String, Vec<Node>),
    /// A struct or struct variant: `Diverged { at: 2.5 }`, its fields in
    /// the definition's order.
    Struct(String, Vec<(String, Node)>),
}

impl Node {
    /// The text of a table cell: as Debug writes it, with floats to
    /// `digits` significant digits ([`crate::numfmt::sig`]; `None`: every
    /// digit, as Debug writes them), and a text or char on its own without
    /// quotes (as a column of names reads); inside a value they keep
    /// Debug's quotes.
    pub fn text(&self, digits: Option<usize>) -> String {
        match self {
            Node::Str(s) => s.clone(),
            Node::Char(c) => c.to_string(),
            other => {
                let mut out = String::new();
                other.write(digits, &mut out);
                out
            }
        }
    }

    /// The field `name` of a struct's value.
    pub fn field(&self, name: &str) -> Option<&Node> {
        match self {
            Node::Struct(_, fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The field names of a struct's value, in its definition's order;
    /// None for any other value.
    pub fn field_names(&self) -> Option<Vec<&str>> {
        match self {
            Node::Struct(_, fields) => Some(fields.iter().map(|(k, _)| k.as_str()).collect()),
            _ => None,
        }
    }

    fn write(&self, digits: Option<usize>, out: &mut String) {
        use std::fmt::Write as _;
        let list = |items: &[Node], out: &mut String| {
            for (i, n) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                n.write(digits, out);
            }
        };
        match self {
            Node::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Node::Int(n) => out.push_str(n),
            Node::Float(f) => match digits {
                Some(d) => out.push_str(&crate::numfmt::sig(*f, d)),
                None => {
                    let _ = write!(out, "{f:?}");
                }
            },
            Node::Char(c) => {
                let _ = write!(out, "{c:?}");
            }
            Node::Str(s) => {
                let _ = write!(out, "{s:?}");
            }
            Node::Unit => out.push_str("()"),
            Node::None => out.push_str("None"),
            Node::Some(n) => {
                out.push_str("Some(");
                n.write(digits, out);
                out.push(')');
            }
            Node::List(items) => {
                out.push('[');
                list(items, out);
                out.push(']');
            }
            Node::Set(items) => {
                out.push('{');
                list(items, out);
                out.push('}');
            }
            Node::Tuple(items) => {
                out.push('(');
                list(items, out);
                if items.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Node::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write(digits, out);
                    out.push_str(": ");
                    v.write(digits, out);
                }
                out.push('}');
            }
            Node::Named(name, items) => {
                out.push_str(name);
                if !items.is_empty() {
                    out.push('(');
                    list(items, out);
                    out.push(')');
                }
            }
            Node::Struct(name, fields) => {
                out.push_str(name);
                if !fields.is_empty() {
                    out.push_str(" { ");
                    for (i, (k, v)) in fields.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(k);
                        out.push_str(": ");
                        v.write(digits, out);
                    }
                    out.push_str(" }");
                }
            }
        }
    }
}

/// Reads the value texts of one result type.
#[derive(Debug, Clone)]
pub struct Reader {
    shape: Shape,
    defs: Defs,
}

impl Reader {
    /// The reader of `result_type` (a type as the notebook writes it:
    /// `Fit`, `Vec<Option<Fit>>`, `std::collections::HashMap<String,
    /// u64>`), with the notebook's definitions of its types. None when the
    /// type does not parse or sluice cannot say how its values are written
    /// (another crate's type, a generic or serde-attributed definition).
    pub fn new(result_type: &str, notebook: &Notebook) -> Option<Reader> {
        let ty = syn::parse_str::<syn::Type>(result_type).ok()?;
        let mut defs = Defs::new();
        let shape = shape::shape_of(&ty, notebook, &mut defs);
        (shape != Shape::Unknown).then_some(Reader { shape, defs })
    }

    /// The texts of the notebook's definitions this reader reads by, one
    /// after another (what [`Notebook::record`] reads back into a notebook
    /// that gives the same reader).
    pub fn definitions(&self, notebook: &Notebook) -> String {
        let mut names: Vec<&String> = self.defs.keys().collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|n| notebook.type_text(n))
            .map(|t| format!("{}\n", t.trim()))
            .collect()
    }

    /// The value of a result's text (JSON, or `ron:` and RON, as
    /// `sluice_runtime::value` writes it); None when the text is not a
    /// value of the type.
    pub fn read(&self, text: &str) -> Option<Node> {
        use serde::de::DeserializeSeed as _;
        let seed = seed::Read {
            shape: &self.shape,
            defs: &self.defs,
        };
        let text = text.trim();
        match text.strip_prefix(RON_PREFIX) {
            Some(r) => {
                let mut d = ron::Deserializer::from_str(r).ok()?;
                let node = seed.deserialize(&mut d).ok()?;
                d.end().ok()?;
                Some(node)
            }
            None => {
                let mut d = serde_json::Deserializer::from_str(text);
                let node = seed.deserialize(&mut d).ok()?;
                d.end().ok()?;
                Some(node)
            }
        }
    }
}

#[cfg(test)]
mod tests;
