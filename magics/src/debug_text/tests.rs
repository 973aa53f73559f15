//! Tests of reading results as `{:?}` prints them: JSON and RON input,
//! enums, options, maps, aliases, self-containing types and the fallbacks.

use super::*;

const ITEMS: &str = r#"
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub enum Outcome { Converged(u64), Diverged { at: f64 }, Stalled, Pair(i32, String) }
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct Fit { pub loss: f64, pub outcome: Outcome }
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub struct Maybe { pub outcome: Option<Outcome>, pub counts: std::collections::HashMap<String, u64> }
#[derive(serde::Serialize, serde::Deserialize, Debug)]
#[serde(tag = "kind")]
pub enum Tagged { A { x: u8 }, B }
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub struct Holder { pub t: Tagged, pub n: u8 }
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub enum Tree { Leaf(u8), Node(Box<Tree>, Box<Tree>) }
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub struct Meters(f64);
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub struct Unit;
type Fits = Vec<Fit>;
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub struct Sparse { pub a: u8, #[serde(default, skip_serializing_if = "Option::is_none")] pub b: Option<u8> }
"#;

fn notebook() -> Notebook {
    let mut n = Notebook::default();
    n.record(1, ITEMS);
    n
}

/// The text of `value` read as `ty`, floats to 4 digits.
fn shown(ty: &str, value: &str) -> String {
    let reader = Reader::new(ty, &notebook()).expect("the type resolves");
    reader
        .read(value)
        .unwrap_or_else(|| panic!("{value} reads as {ty}"))
        .text(Some(4))
}

#[test]
fn enum_variants_read_as_debug_writes_them_from_json() {
    let fit = |v: &str| {
        let reader = Reader::new("Fit", &notebook()).expect("Fit resolves");
        let node = reader.read(v).expect("reads");
        assert_eq!(node.field_names(), Some(vec!["loss", "outcome"]));
        node.field("outcome").expect("outcome").text(Some(4))
    };
    assert_eq!(
        fit(r#"{"loss":0.5,"outcome":{"Converged":7}}"#),
        "Converged(7)"
    );
    assert_eq!(
        fit(r#"{"loss":0.5,"outcome":{"Diverged":{"at":2.5}}}"#),
        "Diverged { at: 2.5 }"
    );
    assert_eq!(fit(r#"{"loss":0.5,"outcome":"Stalled"}"#), "Stalled");
    assert_eq!(
        fit(r#"{"loss":0.5,"outcome":{"Pair":[-3,"a \"b\""]}}"#),
        r#"Pair(-3, "a \"b\"")"#
    );
    assert_eq!(
        shown("Fit", r#"{"outcome":"Stalled","loss":0.123456}"#),
        "Fit { loss: 0.1235, outcome: Stalled }"
    );
}

#[test]
fn enum_variants_read_as_debug_writes_them_from_ron() {
    assert_eq!(
        shown("Fit", "ron:(loss:NaN,outcome:Diverged(at:2.5))"),
        "Fit { loss: NaN, outcome: Diverged { at: 2.5 } }"
    );
    assert_eq!(
        shown("Fit", "ron:Fit(loss:inf,outcome:Converged(7))"),
        "Fit { loss: inf, outcome: Converged(7) }"
    );
    assert_eq!(shown("Outcome", "ron:Stalled"), "Stalled");
    assert_eq!(
        shown("Maybe", "ron:(outcome:None,counts:{\"a\":1})"),
        "Maybe { outcome: None, counts: {\"a\": 1} }"
    );
    assert_eq!(
        shown("Maybe", "ron:(outcome:Some(Converged(7)),counts:{})"),
        "Maybe { outcome: Some(Converged(7)), counts: {} }"
    );
}

#[test]
fn a_map_with_one_key_reads_as_a_map_and_options_as_options() {
    assert_eq!(
        shown(
            "std::collections::HashMap<String, u64>",
            r#"{"Converged":7}"#
        ),
        r#"{"Converged": 7}"#
    );
    assert_eq!(
        shown(
            "Maybe",
            r#"{"outcome":{"Converged":7},"counts":{"Converged":7}}"#
        ),
        r#"Maybe { outcome: Some(Converged(7)), counts: {"Converged": 7} }"#
    );
    assert_eq!(
        shown("Vec<Option<Outcome>>", r#"ron:[Some(Stalled),None]"#),
        "[Some(Stalled), None]"
    );
    assert_eq!(
        shown(
            "std::collections::BTreeMap<u32, Outcome>",
            r#"{"1":"Stalled"}"#
        ),
        "{1: Stalled}"
    );
    assert_eq!(
        shown("std::collections::BTreeSet<char>", r#"["a","b"]"#),
        "{'a', 'b'}"
    );
    assert_eq!(shown("(u8, [f64; 2])", "[1,[0.5,2.0]]"), "(1, [0.5, 2])");
    assert_eq!(shown("(Outcome,)", r#"["Stalled"]"#), "(Stalled,)");
}

#[test]
fn std_enums_structs_and_recursive_types() {
    assert_eq!(shown("Result<u64, String>", r#"{"Ok":3}"#), "Ok(3)");
    assert_eq!(
        shown("Result<u64, String>", r#"{"Err":"no"}"#),
        r#"Err("no")"#
    );
    assert_eq!(
        shown(
            "Tree",
            r#"{"Node":[{"Leaf":1},{"Node":[{"Leaf":2},{"Leaf":3}]}]}"#
        ),
        "Node(Leaf(1), Node(Leaf(2), Leaf(3)))"
    );
    assert_eq!(shown("Meters", "2.5"), "Meters(2.5)");
    assert_eq!(shown("Sparse", r#"{"a":1}"#), "Sparse { a: 1, b: None }");
    assert_eq!(
        shown("Sparse", r#"{"b":2,"a":1}"#),
        "Sparse { a: 1, b: Some(2) }"
    );
    assert_eq!(
        shown("Fits", r#"[{"loss":1.0,"outcome":"Stalled"}]"#),
        "[Fit { loss: 1, outcome: Stalled }]"
    );
    assert_eq!(shown("Vec<Unit>", "ron:[(),()]"), "[Unit, Unit]");
    // Every digit of a wide integer; every digit of a float when asked.
    assert_eq!(
        shown("u128", "340282366920938463463374607431768211455"),
        "340282366920938463463374607431768211455"
    );
    let reader = Reader::new("Fit", &notebook()).expect("resolves");
    let node = reader
        .read(r#"{"loss":0.123456789,"outcome":"Stalled"}"#)
        .expect("reads");
    assert_eq!(
        node.text(None),
        "Fit { loss: 0.123456789, outcome: Stalled }"
    );
    // A text alone reads without quotes; inside a value, with them.
    assert_eq!(shown("String", r#""plain""#), "plain");
    assert_eq!(shown("Option<String>", r#""x""#), r#"Some("x")"#);
    assert_eq!(shown("char", r#""'""#), "'");
    assert_eq!(shown("Vec<char>", r#"["'"]"#), r#"['\'']"#);
}

#[test]
fn types_sluice_cannot_resolve_give_no_reader_or_read_as_written() {
    let nb = notebook();
    assert!(Reader::new("ndarray::Array1<f64>", &nb).is_none());
    assert!(Reader::new("Tagged", &nb).is_none(), "a tagged enum");
    assert!(Reader::new("NotDefined", &nb).is_none());
    assert!(Reader::new("not a type (", &nb).is_none());
    // A field of such a type is read as its text has it.
    assert_eq!(
        shown("Holder", r#"{"t":{"kind":"A","x":1},"n":2}"#),
        r#"Holder { t: {"kind": "A", "x": 1}, n: 2 }"#
    );
    // A text that is not a value of the type gives no value.
    let reader = Reader::new("Fit", &nb).expect("resolves");
    assert_eq!(reader.read(r#"{"loss":1,"outcome":"Unknown"}"#), None);
    assert_eq!(reader.read("[1, 2]"), None);
}

#[test]
fn the_definitions_a_reader_uses_read_back_into_the_same_reader() {
    let nb = notebook();
    let reader = Reader::new("Vec<Result<Fit, Tree>>", &nb).expect("resolves");
    // An alias's definition is kept with the ones it names.
    let fits = Reader::new("Fits", &nb).expect("resolves").definitions(&nb);
    assert!(
        fits.contains("type Fits") && fits.contains("pub enum Outcome"),
        "{fits}"
    );
    let text = reader.definitions(&nb);
    // Only what the type reaches, each definition whole.
    assert!(
        text.contains("pub enum Outcome") && text.contains("pub struct Fit"),
        "{text}"
    );
    assert!(
        text.contains("pub enum Tree") && !text.contains("Maybe"),
        "{text}"
    );
    let mut saved = Notebook::default();
    saved.record(1, &text);
    let again = Reader::new("Vec<Result<Fit, Tree>>", &saved).expect("resolves again");
    let value = r#"[{"Ok":{"loss":1.5,"outcome":{"Converged":7}}},{"Err":{"Leaf":2}}]"#;
    assert_eq!(again.read(value), reader.read(value));
    assert_eq!(
        again.read(value).expect("reads").text(Some(4)),
        "[Ok(Fit { loss: 1.5, outcome: Converged(7) }), Err(Leaf(2))]"
    );
}
