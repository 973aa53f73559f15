//! Turns what a cell produced (a MIME type → text map from evcxr) into the
//! Jupyter outputs: rich content printed with `EVCXR_BEGIN_CONTENT` becomes
//! `display_data`; the cell's final value (`text/plain`) the `execute_result`.

use std::collections::HashMap;

use jupyter_protocol::Media;

/// The outputs of one cell, ready to publish.
#[derive(Debug, Default)]
pub struct CellOutputs {
    /// Rich content (HTML, SVG, images, JSON, ...), if any.
    pub display: Option<Media>,
    /// The value of the final expression, if any.
    pub result: Option<Media>,
}

/// Splits a MIME map into display data and the execute result. An evcxr
/// command's answer (`:vars`, `:help`, ...) comes as one HTML + text pair of
/// the same content: that stays one execute result. A final expression of
/// type `()` (`print!("…")`, `v.push(1)` without `;`) has no result, as a
/// Python cell ending in `print(…)` shows no `None`.
pub fn split(content: &HashMap<String, String>, is_command: bool) -> CellOutputs {
    if is_command && content.contains_key("text/plain") {
        let map = content
            .iter()
            .map(|(mime, text)| (mime.clone(), mime_value(mime, text)))
            .collect();
        return CellOutputs {
            display: None,
            result: Some(media(map)),
        };
    }
    let mut rich = serde_json::Map::new();
    let mut plain = None;
    for (mime, text) in content {
        if mime == "text/plain" {
            plain = Some(text.clone()).filter(|t| t != "()");
        } else {
            rich.insert(mime.clone(), mime_value(mime, text));
        }
    }
    CellOutputs {
        display: (!rich.is_empty()).then(|| media(rich)),
        result: plain.map(|text| {
            let mut m = serde_json::Map::new();
            m.insert("text/plain".into(), serde_json::Value::String(text));
            media(m)
        }),
    }
}

/// Builds a bundle from one MIME type and its text.
pub fn bundle(mime: &str, text: &str) -> Media {
    let mut m = serde_json::Map::new();
    m.insert(mime.to_string(), mime_value(mime, text));
    media(m)
}

/// JSON MIME types carry JSON, everything else a string.
fn mime_value(mime: &str, text: &str) -> serde_json::Value {
    if mime == "application/json" || mime.ends_with("+json") {
        serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
    } else {
        serde_json::Value::String(text.to_string())
    }
}

fn media(map: serde_json::Map<String, serde_json::Value>) -> Media {
    // Media deserializes from exactly this wire shape; a map of strings and
    // JSON values always fits it, so the default is never reached in practice.
    serde_json::from_value(serde_json::Value::Object(map)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mimes(m: &Media) -> Vec<String> {
        let v = serde_json::to_value(m).expect("serializes");
        let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn html_goes_to_display_and_plain_to_result() {
        let mut c = HashMap::new();
        c.insert("text/html".to_string(), "<b>hi</b>".to_string());
        c.insert("text/plain".to_string(), "42".to_string());
        let out = split(&c, false);
        assert_eq!(
            mimes(out.display.as_ref().expect("display")),
            vec!["text/html"]
        );
        assert_eq!(
            mimes(out.result.as_ref().expect("result")),
            vec!["text/plain"]
        );
    }

    #[test]
    fn command_output_is_one_result() {
        let mut c = HashMap::new();
        c.insert("text/html".to_string(), "<table></table>".to_string());
        c.insert("text/plain".to_string(), "x: i32".to_string());
        let out = split(&c, true);
        assert!(out.display.is_none());
        assert_eq!(
            mimes(out.result.as_ref().expect("result")),
            vec!["text/html", "text/plain"]
        );
    }

    #[test]
    fn json_mime_is_parsed() {
        let b = bundle("application/json", "{\"a\": 1}");
        let v = serde_json::to_value(&b).expect("serializes");
        assert_eq!(v["application/json"]["a"], 1);
    }

    #[test]
    fn the_unit_value_is_no_result() {
        let mut c = HashMap::new();
        c.insert("text/plain".to_string(), "()".to_string());
        assert!(split(&c, false).result.is_none());
        c.insert("text/plain".to_string(), "((), 1)".to_string());
        assert!(split(&c, false).result.is_some());
    }

    #[test]
    fn nothing_in_nothing_out() {
        let out = split(&HashMap::new(), false);
        assert!(out.display.is_none() && out.result.is_none());
    }
}
