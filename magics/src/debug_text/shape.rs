//! What a result's type says about how its value text is read: a [`Shape`]
//! per Rust type (std's data types by name, the notebook's own structs and
//! enums through their definitions as written, parsed with syn), and the
//! [`Defs`] of every notebook type a shape reaches. A type sluice cannot
//! read by its definition — generic, a serde attribute that changes its
//! shape (`tag`, `untagged`, `rename`, `flatten`, ...), a generic alias,
//! another crate's — is [`Shape::Unknown`]. No IO.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::notebook::Notebook;

/// How a value of one type is read and written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    Bool,
    /// An integer type; `signed` for `i8`..`isize`.
    Int {
        signed: bool,
    },
    Float,
    Char,
    /// `String`, `str`, `PathBuf`.
    Str,
    /// `()`.
    Unit,
    Option(Box<Shape>),
    /// `Vec`, `VecDeque`, slices, ...: `[a, b]`.
    Seq(Box<Shape>),
    /// `HashSet`, `BTreeSet`: `{a, b}`.
    Set(Box<Shape>),
    /// `[T; N]` (serde writes it as a tuple of N).
    Array(Box<Shape>, usize),
    Tuple(Vec<Shape>),
    /// `HashMap`, `BTreeMap`: keys and values.
    Map(Box<Shape>, Box<Shape>),
    /// A type with a definition in [`Defs`], by its key.
    Named(String),
    /// Read as the value text has it, without type information.
    Unknown,
}

/// The fields of a struct or an enum's variant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fields {
    /// `{ a: T, b: U }`.
    Named(Vec<(&'static str, Shape)>),
    /// `(T, U)`; one field is a newtype.
    Tuple(Vec<Shape>),
    Unit,
}

impl Fields {
    /// The names of named fields (serde's `fields` argument), else empty.
    pub(crate) fn names(&self) -> &'static [&'static str] {
        match self {
            Fields::Named(f) => intern_list(f.iter().map(|(n, _)| *n).collect()),
            _ => &[],
        }
    }
}

/// A type's definition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Def {
    Struct(&'static str, Fields),
    /// The enum's name and its variants, externally tagged (serde's
    /// default: `{"V": ...}` in JSON, `V(...)` in RON).
    Enum(&'static str, Vec<(&'static str, Fields)>),
    /// A type alias, read as the type it names (kept so its definition is
    /// saved with the others; no shape is [`Shape::Named`] after it).
    Alias,
}

/// The definitions a shape reaches, by key (a notebook type's name; for
/// `Result<T, E>`, the type's text).
pub(crate) type Defs = HashMap<String, Def>;

/// The shape of `ty`, with the definitions it reaches added to `defs`.
pub(crate) fn shape_of(ty: &syn::Type, notebook: &Notebook, defs: &mut Defs) -> Shape {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => path_shape(&p.path, notebook, defs),
        syn::Type::Reference(r) => shape_of(&r.elem, notebook, defs),
        syn::Type::Paren(p) => shape_of(&p.elem, notebook, defs),
        syn::Type::Group(g) => shape_of(&g.elem, notebook, defs),
        syn::Type::Slice(s) => Shape::Seq(Box::new(shape_of(&s.elem, notebook, defs))),
        syn::Type::Array(a) => match &a.len {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(n),
                ..
            }) => match n.base10_parse::<usize>() {
                Ok(n) => Shape::Array(Box::new(shape_of(&a.elem, notebook, defs)), n),
                Err(_) => Shape::Unknown,
            },
            _ => Shape::Unknown,
        },
        syn::Type::Tuple(t) if t.elems.is_empty() => Shape::Unit,
        syn::Type::Tuple(t) => Shape::Tuple(
            t.elems
                .iter()
                .map(|e| shape_of(e, notebook, defs))
                .collect(),
        ),
        _ => Shape::Unknown,
    }
}

/// The shape of a named type: the notebook's own (a one-segment path it
/// defines), else std's by its last segment.
fn path_shape(path: &syn::Path, notebook: &Notebook, defs: &mut Defs) -> Shape {
    let Some(last) = path.segments.last() else {
        return Shape::Unknown;
    };
    let name = last.ident.to_string();
    if path.segments.len() == 1 && path.leading_colon.is_none() {
        if defs.get(&name).is_some_and(|d| *d != Def::Alias) {
            return Shape::Named(name);
        }
        if let Some(item) = notebook.type_item(&name) {
            return notebook_shape(&name, &item, notebook, defs);
        }
    }
    let args: Vec<&syn::Type> = match &last.arguments {
        syn::PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|a| match a {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut arg = |i: usize| {
        Box::new(
            args.get(i)
                .map_or(Shape::Unknown, |t| shape_of(t, notebook, defs)),
        )
    };
    match (name.as_str(), args.len()) {
        ("bool", 0) => Shape::Bool,
        ("i8" | "i16" | "i32" | "i64" | "i128" | "isize", 0) => Shape::Int { signed: true },
        ("u8" | "u16" | "u32" | "u64" | "u128" | "usize", 0) => Shape::Int { signed: false },
        ("f32" | "f64", 0) => Shape::Float,
        ("char", 0) => Shape::Char,
        ("String" | "str" | "PathBuf", 0) => Shape::Str,
        ("Box" | "Rc" | "Arc" | "Cow", 1) => *arg(0),
        ("Option", 1) => Shape::Option(arg(0)),
        ("Vec" | "VecDeque" | "LinkedList" | "BinaryHeap", 1) => Shape::Seq(arg(0)),
        ("HashSet" | "BTreeSet", 1) => Shape::Set(arg(0)),
        ("HashMap" | "BTreeMap", 2) => Shape::Map(arg(0), arg(1)),
        ("Result", 2) => {
            let key = quote::ToTokens::to_token_stream(path).to_string();
            let (ok, err) = (*arg(0), *arg(1));
            defs.insert(
                key.clone(),
                Def::Enum(
                    "Result",
                    vec![
                        ("Ok", Fields::Tuple(vec![ok])),
                        ("Err", Fields::Tuple(vec![err])),
                    ],
                ),
            );
            Shape::Named(key)
        }
        _ => Shape::Unknown,
    }
}

/// The shape of the notebook's struct or enum `name` (its definition
/// `item`), added to `defs` with every type its fields reach.
fn notebook_shape(name: &str, item: &syn::Item, notebook: &Notebook, defs: &mut Defs) -> Shape {
    let (attrs, generics) = match item {
        syn::Item::Struct(s) => (&s.attrs, &s.generics),
        syn::Item::Enum(e) => (&e.attrs, &e.generics),
        // An alias reads as the type it names (rustc refuses a cycle).
        syn::Item::Type(t) if t.generics.params.is_empty() => {
            defs.insert(name.to_string(), Def::Alias);
            return shape_of(&t.ty, notebook, defs);
        }
        _ => return Shape::Unknown,
    };
    if !generics.params.is_empty() || !plain_serde(attrs) {
        return Shape::Unknown;
    }
    // A placeholder first: a type that holds itself (through a `Box`)
    // finds its key while its fields are read.
    defs.insert(name.to_string(), Def::Struct(intern(name), Fields::Unit));
    let def = match item {
        syn::Item::Struct(s) => {
            fields_of(&s.fields, notebook, defs).map(|f| Def::Struct(intern(name), f))
        }
        syn::Item::Enum(e) => e
            .variants
            .iter()
            .map(|v| {
                if !plain_serde(&v.attrs) {
                    return None;
                }
                let fields = fields_of(&v.fields, notebook, defs)?;
                Some((intern(&v.ident.to_string()), fields))
            })
            .collect::<Option<Vec<_>>>()
            .map(|variants| Def::Enum(intern(name), variants)),
        _ => None,
    };
    match def {
        Some(def) => {
            defs.insert(name.to_string(), def);
            Shape::Named(name.to_string())
        }
        None => {
            defs.remove(name);
            Shape::Unknown
        }
    }
}

/// The fields' shapes; None when a field's serde attributes change how it
/// is written.
fn fields_of(fields: &syn::Fields, notebook: &Notebook, defs: &mut Defs) -> Option<Fields> {
    if !fields.iter().all(|f| plain_serde(&f.attrs)) {
        return None;
    }
    Some(match fields {
        syn::Fields::Named(n) => Fields::Named(
            n.named
                .iter()
                .filter_map(|f| {
                    let id = f.ident.as_ref()?.to_string();
                    let id = id.strip_prefix("r#").unwrap_or(&id).to_string();
                    Some((intern(&id), shape_of(&f.ty, notebook, defs)))
                })
                .collect(),
        ),
        syn::Fields::Unnamed(u) => Fields::Tuple(
            u.unnamed
                .iter()
                .map(|f| shape_of(&f.ty, notebook, defs))
                .collect(),
        ),
        syn::Fields::Unit => Fields::Unit,
    })
}

/// serde attributes that leave a value's shape as the definition says
/// (serde's attribute reference: serde.rs/attributes.html).
const SHAPE_KEEPING: &[&str] = &[
    "default",
    "skip_serializing_if",
    "bound",
    "deny_unknown_fields",
    "crate",
    "expecting",
    "alias",
];

/// Whether `attrs` hold no serde attribute that changes the shape serde
/// writes (a rename, a tag, `untagged`, `flatten`, `with`, `skip`, ...).
fn plain_serde(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .all(|a| {
            a.parse_nested_meta(|meta| {
                let keeps = meta
                    .path
                    .get_ident()
                    .is_some_and(|i| SHAPE_KEEPING.contains(&i.to_string().as_str()));
                if !keeps {
                    return Err(meta.error("changes the shape"));
                }
                if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::Expr>()?;
                } else if meta.input.peek(syn::token::Paren) {
                    meta.parse_nested_meta(|inner| {
                        if inner.input.peek(syn::Token![=]) {
                            inner.value()?.parse::<syn::Expr>()?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })
            .is_ok()
        })
}

/// `s` for as long as the process lives: serde asks for `&'static str`
/// names and field lists. Each distinct text is kept once (the notebook's
/// type, variant and field names).
pub(crate) fn intern(s: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<std::collections::HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&kept) = names.get(s) {
        return kept;
    }
    let kept: &'static str = Box::leak(s.to_string().into_boxed_str());
    names.insert(kept);
    kept
}

/// A list of interned names, kept once per distinct list.
pub(super) fn intern_list(names: Vec<&'static str>) -> &'static [&'static str] {
    type Lists = Mutex<HashMap<Vec<&'static str>, &'static [&'static str]>>;
    static LISTS: OnceLock<Lists> = OnceLock::new();
    let mut lists = LISTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&kept) = lists.get(&names) {
        return kept;
    }
    let kept: &'static [&'static str] = Box::leak(names.clone().into_boxed_slice());
    lists.insert(names, kept);
    kept
}
