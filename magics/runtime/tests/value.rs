//! Values cross exactly: what `encode` writes, `decode` reads back to the
//! same value, bit for bit, in JSON when JSON can hold it. (Floats whose
//! parse needs serde_json's `float_roundtrip`, which task crates and the
//! session turn on, are checked end to end in tests/python/test_values.py.)

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sluice_runtime::value::{RON_PREFIX, decode, encode};

fn round<T: Serialize + for<'de> Deserialize<'de>>(v: &T) -> (String, T) {
    let text = encode(v).expect("encodes");
    let back = decode::<T>(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    (text, back)
}

#[test]
fn floats_cross_bit_for_bit() {
    for x in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        0.1 + 0.2,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        1e-4,
    ] {
        let (text, back) = round(&x);
        assert_eq!(back.to_bits(), x.to_bits(), "{x:e} via {text}");
        assert_eq!(text.starts_with(RON_PREFIX), !x.is_finite(), "{text}");
    }
    let (_, back) = round(&f32::NAN);
    assert!(back.is_nan());
    let (text, back) = round(&0.1f32);
    assert_eq!((back.to_bits(), text.as_str()), (0.1f32.to_bits(), "0.1"));
}

#[test]
fn wide_integers_and_keys_json_cannot_hold() {
    assert_eq!(round(&u64::MAX), (u64::MAX.to_string(), u64::MAX));
    assert_eq!(round(&i128::MIN).1, i128::MIN);
    assert_eq!(round(&u128::MAX).1, u128::MAX);
    let mut m: HashMap<(u64, u64), u64> = HashMap::new();
    m.insert((1, 2), 3);
    m.insert((u64::MAX, 0), 4);
    let (text, back) = round(&m);
    assert!(text.starts_with(RON_PREFIX), "{text}");
    assert_eq!(back, m);
    // Integer keys are fine in JSON.
    let b: BTreeMap<u32, String> = [(7, "seven".to_string())].into();
    assert_eq!(round(&b), (r#"{"7":"seven"}"#.to_string(), b));
}

#[test]
fn nones_nested_in_options_stay_apart() {
    for v in [None, Some(None), Some(Some(3u8))] {
        assert_eq!(round(&v).1, v);
    }
    assert_eq!(round(&vec![Some(1.5), None]).1, vec![Some(1.5), None]);
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Shape {
    Circle { r: f64 },
    Square { side: f64 },
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Loose {
    N(i64),
    S(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct Run {
    lr: f64,
    loss: Option<f64>,
    name: String,
    shape: Shape,
}

#[test]
fn serde_attributes_cross_in_both_formats() {
    let shapes = vec![Shape::Circle { r: 1.0 }, Shape::Square { side: 2.0 }];
    let (text, back) = round(&shapes);
    assert!(!text.starts_with(RON_PREFIX));
    assert_eq!(back, shapes);
    let loose = vec![Loose::N(1), Loose::S("x".into())];
    assert_eq!(round(&loose).1, loose);
    // A NaN inside a struct with a tagged enum: RON, and still exact.
    let r = Run {
        lr: 1e-4,
        loss: Some(f64::NAN),
        name: "a\n\"b\" null".into(),
        shape: Shape::Circle { r: f64::INFINITY },
    };
    let (text, back) = round(&r);
    assert!(text.starts_with(RON_PREFIX), "{text}");
    assert!(back.loss.is_some_and(f64::is_nan));
    assert_eq!(back.name, r.name);
    assert_eq!(back.shape, r.shape);
    assert_eq!(back.lr.to_bits(), r.lr.to_bits());
}

#[test]
fn strings_that_look_like_the_prefix_stay_strings() {
    let s = "ron:(1, 2)".to_string();
    assert_eq!(round(&s), (r#""ron:(1, 2)""#.to_string(), s));
}

#[test]
fn bad_text_says_why() {
    let e = decode::<u8>("300").unwrap_err();
    assert!(e.contains("300") && e.contains("u8"), "{e}");
    assert!(decode::<u8>("ron:(").is_err());
}
