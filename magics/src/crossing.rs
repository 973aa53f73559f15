//! The notebook's side of values crossing to and from tasks.
//!
//! Tasks read and write values with `sluice_runtime::value` (JSON when JSON
//! holds the value exactly, else `ron:` and RON). The session writes items
//! and captured variables, and reads results, with the same rule, in code
//! generated here: the session has serde_json and ron (`cell/serde_dep.rs`)
//! but not the runtime crate, so the rule is spelled out in that code.
//! The kernel's own displays (sweep tables, plots) read values with
//! [`display_value`].

use sluice_runtime::value::RON_PREFIX;

/// What [`encode_expr`] with [`Formats::Json`] writes for a value JSON
/// cannot hold: neither JSON nor RON, so it is never read as a value; the
/// value is then written again with both formats ([`needs_both`]).
pub const NEEDS_RON: &str = "ron?";

/// Whether a text written with [`Formats::Json`] holds a value that needs
/// the writing again with [`Formats::Both`].
pub fn needs_both(text: &str) -> bool {
    text.lines().any(|l| l.trim() == NEEDS_RON)
}

/// A Rust expression (evaluated in the session) that is the text of the
/// value `value` (an expression borrowing it, e.g. `&x`), in `formats`:
/// [`Formats::Both`] writes JSON when JSON holds the value, else RON, and
/// when neither can write it, it panics with `panic_prefix`, then what
/// `what` (a Rust expression that displays, e.g. `format!("item {}", n)`)
/// says, then the reason; [`Formats::Json`] writes JSON or [`NEEDS_RON`]
/// (the session then compiles no RON serializer for the value's type);
/// [`Formats::Ron`] is read as [`Formats::Both`].
pub fn encode_expr(value: &str, panic_prefix: &str, what: &str, formats: Formats) -> String {
    if formats == Formats::Json {
        return format!(
            "{{ let __sluice_v = {value}; match serde_json::to_string(__sluice_v) {{ \
Ok(j) if !j.contains(\"null\") => j, _ => String::from(\"{NEEDS_RON}\") }} }}"
        );
    }
    format!(
        "{{ let __sluice_v = {value}; match serde_json::to_string(__sluice_v) {{ \
Ok(j) if !j.contains(\"null\") => j, \
_ => match ron::to_string(__sluice_v) {{ Ok(r) => format!(\"{RON_PREFIX}{{}}\", r), \
Err(e) => panic!(\"{panic_prefix}{{}} cannot be sent to the task: {{}}\", {what}, e) }} }} }}"
    )
}

/// Which formats the value texts a bind reads are written in. Reading
/// only the one present saves the session the other's code: each format's
/// `from_str::<TY>` is compiled anew for the notebook's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formats {
    /// Every text is JSON.
    Json,
    /// Every text is `ron:` and RON.
    Ron,
    /// Both, or not known.
    Both,
}

impl Formats {
    /// The formats of `texts` (value texts; [`MISSING`](crate::pipeline::bind::MISSING)
    /// lines and empty ones are skipped). No text at all reads as JSON.
    pub fn of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Formats {
        let (mut json, mut ron) = (false, false);
        for t in texts {
            let t = t.trim();
            if t.is_empty() || t == crate::pipeline::bind::MISSING {
                continue;
            }
            if is_ron(t) {
                ron = true;
            } else {
                json = true;
            }
        }
        match (json, ron) {
            (_, false) => Formats::Json,
            (false, true) => Formats::Ron,
            (true, true) => Formats::Both,
        }
    }

    /// The formats of the lines of the file at `path`; [`Formats::Both`]
    /// when it cannot be read.
    pub fn of_file(path: &std::path::Path) -> Formats {
        match std::fs::read_to_string(path) {
            Ok(text) => Formats::of(text.lines()),
            Err(_) => Formats::Both,
        }
    }
}

/// A Rust expression (evaluated in the session) of type `Result<TY,
/// String>` that reads `text` (a `&str` expression) as `ty`, in the
/// `formats` the texts were found in (a text in the other format is an
/// error that says so).
pub fn decode_expr(text: &str, ty: &str, formats: Formats) -> String {
    let other = "Err(String::from(\"the value was rewritten in another format since the bind was made; run the cell again\"))";
    let (ron, json) = match formats {
        Formats::Json => (
            other.to_string(),
            format!("serde_json::from_str::<{ty}>(__sluice_t).map_err(|e| e.to_string())"),
        ),
        Formats::Ron => (
            format!("ron::from_str::<{ty}>(r).map_err(|e| e.to_string())"),
            other.to_string(),
        ),
        Formats::Both => (
            format!("ron::from_str::<{ty}>(r).map_err(|e| e.to_string())"),
            format!("serde_json::from_str::<{ty}>(__sluice_t).map_err(|e| e.to_string())"),
        ),
    };
    format!(
        "{{ let __sluice_s = {text}; let __sluice_t: &str = __sluice_s.trim(); match __sluice_t.strip_prefix(\"{RON_PREFIX}\") {{ \
Some(r) => {{ let _ = r; {ron} }}, None => {json} }} }}"
    )
}

/// True if a value's text is RON (JSON cannot hold the value).
pub fn is_ron(text: &str) -> bool {
    text.trim_start().starts_with(RON_PREFIX)
}

/// A value's text as a JSON value for the kernel's own displays: JSON as
/// it is; RON converted, with non-finite floats as the strings `NaN`,
/// `inf` and `-inf`, map keys that are not strings written as RON, and
/// `None` as null. `None` when the text is neither.
pub fn display_value(text: &str) -> Option<serde_json::Value> {
    let text = text.trim();
    match text.strip_prefix(RON_PREFIX) {
        Some(r) => ron::from_str::<ron::Value>(r).ok().map(from_ron),
        None => serde_json::from_str(text).ok(),
    }
}

/// The field names of a struct value's text (JSON or RON) in the order
/// they are written — the struct's field order, which `display_value`'s
/// maps do not keep. Empty for a value that is not a struct or map.
pub fn field_order(text: &str) -> Vec<String> {
    use serde::Deserializer as _;
    let text = text.trim();
    let keys = match text.strip_prefix(RON_PREFIX) {
        Some(r) => ron::Deserializer::from_str(r)
            .ok()
            .and_then(|mut d| d.deserialize_any(Keys).ok()),
        None => serde_json::Deserializer::from_str(text)
            .deserialize_any(Keys)
            .ok(),
    };
    keys.unwrap_or_default()
}

/// The fields of a struct value written as RON (`ron:(a: 1, k: Big(n: 7),
/// o: None)`), each as its RON text: what a table shows where the JSON
/// form has lost the words (`None`, an enum variant's name, `NaN` all
/// become `null` or an unnamed map). Empty for any other text.
pub fn ron_fields(text: &str) -> Vec<(String, String)> {
    let Some(r) = text.trim().strip_prefix(RON_PREFIX) else {
        return Vec::new();
    };
    let r = r.trim();
    // A named struct writes its name first: `Name(a: 1)`.
    let open = r.find('(').unwrap_or(usize::MAX);
    if open == usize::MAX
        || !r.ends_with(')')
        || !r[..open].chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        return Vec::new();
    }
    let inner = &r[open + 1..r.len() - 1];
    let mut parts = Vec::new();
    let (mut depth, mut start, mut in_str, mut escaped) = (0i32, 0usize, false, false);
    // The end of a char literal being skipped (`'"'`, `'\''`, `'('`).
    let mut skip_to = 0usize;
    for (i, c) in inner.char_indices() {
        if i < skip_to {
            continue;
        }
        if !in_str && c == '\'' {
            skip_to = char_literal_end(inner, i);
            continue;
        }
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once(':')?;
            let k = k.trim();
            (!k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'))
                .then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect()
}

/// The byte just past the RON char literal that starts at `at` (a `'`):
/// `'a'`, `'"'`, `'\''`, `'\\'`, `'\u{1F600}'`.
fn char_literal_end(text: &str, at: usize) -> usize {
    let rest = &text[at + 1..];
    let body = if rest.starts_with('\\') {
        // An escape: up to the next quote after its first character.
        rest.char_indices()
            .skip(2)
            .find(|&(_, c)| c == '\'')
            .map_or(rest.len(), |(j, _)| j)
    } else {
        rest.chars().next().map_or(0, char::len_utf8)
    };
    (at + 1 + body + 1).min(text.len())
}

/// The integer at `field` of a value's text (JSON or RON), written out
/// exactly (`308641975308`, a `u128` past `u64::MAX`): `field` is a dotted
/// path of struct fields, or `value` for a plain result. None when it is
/// not there or not an integer (a float, a string). `display_value` holds
/// numbers as `f64` past 64 bits; this reads the text itself.
pub fn integer_at(text: &str, field: &str) -> Option<String> {
    let text = text.trim();
    let path: Vec<&str> = field.split('.').collect();
    let read = |leaf: Leaf| -> Option<String> {
        let seed = AtPath { path: &path, leaf };
        let plain = AtPath { path: &[], leaf };
        // The whole text must be read: `1.5` is not the integer `1`.
        let at = |seed: AtPath| match text.strip_prefix(RON_PREFIX) {
            Some(r) => {
                let mut d = ron::Deserializer::from_str(r).ok()?;
                let found = serde::de::DeserializeSeed::deserialize(seed, &mut d).ok()?;
                d.end().ok()?;
                found
            }
            None => {
                let mut d = serde_json::Deserializer::from_str(text);
                let found = serde::de::DeserializeSeed::deserialize(seed, &mut d).ok()?;
                d.end().ok()?;
                found
            }
        };
        at(seed).or_else(|| if field == "value" { at(plain) } else { None })
    };
    read(Leaf::Signed).or_else(|| read(Leaf::Unsigned))
}

/// How [`integer_at`] reads the number it reaches.
#[derive(Clone, Copy)]
enum Leaf {
    Signed,
    Unsigned,
}

/// Walks a value's fields down `path`, then reads an integer there.
#[derive(Clone, Copy)]
struct AtPath<'p> {
    path: &'p [&'p str],
    leaf: Leaf,
}

impl<'de> serde::de::DeserializeSeed<'de> for AtPath<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        use serde::Deserialize as _;
        match (self.path.is_empty(), self.leaf) {
            (true, Leaf::Signed) => i128::deserialize(d).map(|n| Some(n.to_string())),
            (true, Leaf::Unsigned) => u128::deserialize(d).map(|n| Some(n.to_string())),
            (false, _) => d.deserialize_any(self),
        }
    }
}

impl<'de> serde::de::Visitor<'de> for AtPath<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a struct")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if self.path.first() == Some(&key.as_str()) && found.is_none() {
                found = map.next_value_seed(AtPath {
                    path: &self.path[1..],
                    leaf: self.leaf,
                })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Reads a value's top-level keys (string keys only), skipping the rest.
struct Keys;

impl<'de> serde::de::Visitor<'de> for Keys {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
        let mut keys = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<serde::de::IgnoredAny>()?;
            keys.push(key);
        }
        Ok(keys)
    }
}

fn from_ron(v: ron::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        ron::Value::Bool(b) => J::Bool(b),
        ron::Value::Char(c) => J::String(c.to_string()),
        ron::Value::String(s) => J::String(s),
        ron::Value::Bytes(b) => J::Array(b.into_iter().map(J::from).collect()),
        ron::Value::Unit => J::Null,
        ron::Value::Option(o) => o.map_or(J::Null, |b| from_ron(*b)),
        ron::Value::Seq(items) => J::Array(items.into_iter().map(from_ron).collect()),
        ron::Value::Map(map) => J::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        ron::Value::String(s) => s,
                        other => ron::to_string(&other).unwrap_or_default(),
                    };
                    (key, from_ron(v))
                })
                .collect(),
        ),
        ron::Value::Number(n) => number(n),
    }
}

fn number(n: ron::Number) -> serde_json::Value {
    use ron::Number as N;
    let float = |x: f64| {
        serde_json::Number::from_f64(x).map_or_else(
            || {
                serde_json::Value::String(
                    if x.is_nan() {
                        "NaN"
                    } else if x > 0.0 {
                        "inf"
                    } else {
                        "-inf"
                    }
                    .into(),
                )
            },
            serde_json::Value::Number,
        )
    };
    match n {
        N::I8(x) => x.into(),
        N::I16(x) => x.into(),
        N::I32(x) => x.into(),
        N::I64(x) => x.into(),
        N::U8(x) => x.into(),
        N::U16(x) => x.into(),
        N::U32(x) => x.into(),
        N::U64(x) => x.into(),
        N::I128(x) => i64::try_from(x).map_or_else(|_| x.to_string().into(), Into::into),
        N::U128(x) => u64::try_from(x).map_or_else(|_| x.to_string().into(), Into::into),
        N::F32(x) => float(f64::from(x.get())),
        N::F64(x) => float(x.get()),
        // ron's Number is #[non_exhaustive].
        #[allow(unreachable_patterns)]
        _ => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_read_exactly_at_their_field() {
        assert_eq!(
            integer_at("{\"loss\":308641975308,\"x\":1.5}", "loss").as_deref(),
            Some("308641975308")
        );
        let big = u128::MAX.to_string();
        assert_eq!(integer_at(&big, "value"), Some(big.clone()));
        assert_eq!(
            integer_at(&format!("{{\"m\":{{\"n\":{big}}}}}"), "m.n"),
            Some(big)
        );
        assert_eq!(
            integer_at(&i128::MIN.to_string(), "value"),
            Some(i128::MIN.to_string())
        );
        assert_eq!(
            integer_at(
                "ron:(a: None, n: -170141183460469231731687303715884105728)",
                "n"
            )
            .as_deref(),
            Some("-170141183460469231731687303715884105728")
        );
        assert_eq!(integer_at("{\"x\":1.5}", "x"), None);
        assert_eq!(integer_at("1.00012", "value"), None);
        assert_eq!(integer_at("ron:1.5", "value"), None);
        assert_eq!(integer_at("{\"x\":\"7\"}", "x"), None);
        assert_eq!(integer_at("{\"x\":7}", "y"), None);
    }

    #[test]
    fn ron_fields_keep_the_words_json_loses() {
        let t = format!(
            "{RON_PREFIX}(lr: 0.1, kind: Big(n: 7), small: Small, opt: None, tag: Some(\"a, (b)\"), x: NaN)"
        );
        assert_eq!(
            ron_fields(&t),
            vec![
                ("lr".to_string(), "0.1".to_string()),
                ("kind".into(), "Big(n: 7)".into()),
                ("small".into(), "Small".into()),
                ("opt".into(), "None".into()),
                ("tag".into(), "Some(\"a, (b)\")".into()),
                ("x".into(), "NaN".into()),
            ]
        );
        assert!(ron_fields("{\"a\": 1}").is_empty());
        let chars = format!(r#"{RON_PREFIX}(ch: '"', q: '\'', b: '\\', p: '(', u: Some(()))"#);
        assert_eq!(
            ron_fields(&chars),
            [
                ("ch", "'\"'"),
                ("q", "'\\''"),
                ("b", "'\\\\'"),
                ("p", "'('"),
                ("u", "Some(())")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(ron_fields(&format!("{RON_PREFIX}[1, 2]")).is_empty());
    }

    #[test]
    fn display_values_of_both_formats() {
        assert_eq!(
            display_value("{\"a\":1.5}"),
            Some(serde_json::json!({"a": 1.5}))
        );
        assert_eq!(
            display_value("ron:(loss:NaN,acc:Some(0.5),best:None)"),
            Some(serde_json::json!({"loss": "NaN", "acc": 0.5, "best": null}))
        );
        assert_eq!(
            display_value("ron:{(1,2):3}"),
            Some(serde_json::json!({"[1,2]": 3}))
        );
        assert_eq!(display_value("ron:-inf"), Some(serde_json::json!("-inf")));
        assert_eq!(display_value("not a value"), None);
        assert!(is_ron(" ron:1") && !is_ron("\"ron:1\""));
    }

    #[test]
    fn fields_in_the_order_the_struct_has_them() {
        assert_eq!(
            field_order(
                "{\"score\":0.5,\"huge\":1e9,\"label\":\"a\",\"nested\":{\"z\":1,\"a\":2}}"
            ),
            ["score", "huge", "label", "nested"]
        );
        assert_eq!(
            field_order("ron:(zeta:NaN,alpha:Some(0.5),mid:[1,2])"),
            ["zeta", "alpha", "mid"]
        );
        assert!(field_order("1.5").is_empty());
        assert!(field_order("[1,2]").is_empty());
        assert!(field_order("not a value").is_empty());
    }

    #[test]
    fn generated_code_spells_the_runtimes_rule() {
        let j = encode_expr("&x", "sluice: ", "\"x\"", Formats::Json);
        assert!(!j.contains("ron::"), "{j}");
        assert!(j.contains("String::from(\"ron?\")"), "{j}");
        assert!(needs_both("1\nron?\n2") && !needs_both("1\nron:NaN"));
        let e = encode_expr("&x", "sluice: ", "format!(\"item {}\", 3)", Formats::Both);
        assert!(e.contains("serde_json::to_string(__sluice_v)"), "{e}");
        assert!(e.contains("!j.contains(\"null\")"), "{e}");
        assert!(e.contains("format!(\"ron:{}\", r)"), "{e}");
        assert!(
            e.contains(
                "panic!(\"sluice: {} cannot be sent to the task: {}\", format!(\"item {}\", 3), e)"
            ),
            "{e}"
        );
        let d = decode_expr("&text", "Vec<f64>", Formats::Both);
        assert!(d.contains("ron::from_str::<Vec<f64>>(r)"), "{d}");
        assert!(
            d.contains("serde_json::from_str::<Vec<f64>>(__sluice_t)"),
            "{d}"
        );
        let d = decode_expr("&text", "u8", Formats::Json);
        assert!(!d.contains("ron::"), "{d}");
        assert!(d.contains("serde_json::from_str::<u8>"), "{d}");
        let d = decode_expr("&text", "u8", Formats::Ron);
        assert!(!d.contains("serde_json::"), "{d}");
        assert!(d.contains("ron::from_str::<u8>(r)"), "{d}");
    }

    #[test]
    fn formats_are_read_from_the_texts() {
        assert_eq!(Formats::of(["1", "-", "", "[2]"]), Formats::Json);
        assert_eq!(Formats::of(["ron:NaN", " ron:(1,)"]), Formats::Ron);
        assert_eq!(Formats::of(["1", "ron:NaN"]), Formats::Both);
        assert_eq!(Formats::of(["-"]), Formats::Json);
        assert_eq!(
            Formats::of_file(std::path::Path::new("/nonexistent/sluice")),
            Formats::Both
        );
    }
}
