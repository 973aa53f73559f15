//! Result types the session can bind without asking it first: made only of
//! primitives, `String` and std's containers (`Vec`, `Option`, `Box`,
//! tuples, arrays, `std::collections`' maps and sets). Every one of them
//! is owned and `Deserialize`, and the session always knows it; the task
//! already checked that each result reads back as its type (sluice-runtime),
//! so the bind's type check in the session (a `cargo check`, most of a
//! second) can only say yes. So can a notebook's own struct or enum that
//! derives `Deserialize` ([`bindable_unchecked`]): its cell compiled, so
//! the derive holds (were it gone from the session, say after `:clear`,
//! the bind's error shows at the next cell and `%slurm load` binds again).
//! Anything else — a reference, another crate's path, a generic notebook
//! type — is still checked.

/// The type names allowed, as their last path segment.
const PLAIN: &[&str] = &[
    "bool", "char", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128",
    "usize", "f32", "f64", "String", "Vec", "Option", "Box", "VecDeque", "HashMap", "BTreeMap",
    "HashSet", "BTreeSet",
];

/// True if `ty` (as the bind writes it) is made only of [`PLAIN`] types.
pub fn is_plain(ty: &str) -> bool {
    bindable_unchecked(ty, &|_| false)
}

/// True if `ty` is made only of [`PLAIN`] types and single-name types
/// `known` says the session can deserialize (the notebook's own structs and
/// enums that derive `Deserialize`: `Notebook::derives_deserialize`).
pub fn bindable_unchecked(ty: &str, known: &dyn Fn(&str) -> bool) -> bool {
    syn::parse_str::<syn::Type>(ty).is_ok_and(|t| plain(&t, known))
}

fn plain(t: &syn::Type, known: &dyn Fn(&str) -> bool) -> bool {
    let plain = |t: &syn::Type| plain(t, known);
    match t {
        syn::Type::Tuple(t) => t.elems.iter().all(plain),
        syn::Type::Array(a) => plain(&a.elem),
        syn::Type::Paren(p) => plain(&p.elem),
        syn::Type::Path(p)
            if p.qself.is_none()
                && p.path.segments.len() == 1
                && p.path.segments[0].arguments.is_none()
                && known(&p.path.segments[0].ident.to_string()) =>
        {
            true
        }
        syn::Type::Path(p) if p.qself.is_none() => {
            let segs: Vec<&syn::PathSegment> = p.path.segments.iter().collect();
            let Some((last, prefix)) = segs.split_last() else {
                return false;
            };
            let prefix_ok = prefix
                .iter()
                .map(|s| s.ident.to_string())
                .collect::<Vec<_>>()
                .join("::");
            if !(prefix_ok.is_empty() || prefix_ok == "std::collections")
                || !prefix.iter().all(|s| s.arguments.is_none())
                || !PLAIN.contains(&last.ident.to_string().as_str())
            {
                return false;
            }
            match &last.arguments {
                syn::PathArguments::None => true,
                syn::PathArguments::AngleBracketed(a) => a.args.iter().all(|g| match g {
                    syn::GenericArgument::Type(t) => plain(t),
                    _ => false,
                }),
                syn::PathArguments::Parenthesized(_) => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{bindable_unchecked, is_plain};

    #[test]
    fn known_notebook_types_need_no_check() {
        let known = |n: &str| n == "TrainResult";
        assert!(bindable_unchecked("TrainResult", &known));
        assert!(bindable_unchecked(
            "Vec<((f64, i64,), TrainResult)>",
            &known
        ));
        assert!(!bindable_unchecked("Vec<ChunkResult>", &known));
        assert!(!bindable_unchecked("other::TrainResult", &known));
        assert!(!bindable_unchecked("&TrainResult", &known));
    }

    #[test]
    fn std_data_is_plain_and_the_rest_is_checked() {
        for t in [
            "i64",
            "Vec<i64>",
            "Vec<(String, f64)>",
            "Option<Vec<[u8; 4]>>",
            "std::collections::BTreeMap<String, Vec<usize>>",
            "((f64, i64,), f64)",
            "Vec<Option<Box<u32>>>",
        ] {
            assert!(is_plain(t), "{t}");
        }
        for t in [
            "TrainResult",
            "Vec<ChunkResult>",
            "&str",
            "Vec<&'static str>",
            "other::Thing",
            "std::rc::Rc<i64>",
            "Vec<<i64 as Trait>::Out>",
            "not a type",
        ] {
            assert!(!is_plain(t), "{t}");
        }
    }
}
