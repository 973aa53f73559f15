//! Reading the `status/<item>.json` files a task writes for each item (and
//! the local executor writes for elements it killed): an element's final
//! state, shared by every executor and by jobs no executor watches.

use std::path::Path;

use crate::state::State;

/// The state of array element `element` (items `element*chunk ..`), if
/// every one of its items has a status file; None if any has none (the
/// element was killed or never ran).
pub fn element_state(dir: &Path, items: usize, chunk: usize, element: usize) -> Option<State> {
    let chunk = chunk.max(1);
    let mut state = State::Completed;
    for i in element * chunk..((element + 1) * chunk).min(items) {
        let text = std::fs::read_to_string(dir.join("status").join(format!("{i}.json"))).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let exit = v["exit"].as_i64().unwrap_or(-1) as i32;
        if let Some(name) = v["state"].as_str() {
            return Some(State::from_parts(
                name,
                exit,
                v["error"].as_str().unwrap_or(""),
            ));
        }
        if exit != 0 {
            state = State::Failed(exit);
        }
    }
    Some(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_needs_a_status() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("status")).expect("mkdir");
        let write = |i: usize, s: &str| {
            std::fs::write(dir.path().join("status").join(format!("{i}.json")), s).expect("write")
        };
        write(0, r#"{"exit":0}"#);
        write(1, r#"{"exit":3}"#);
        write(2, r#"{"exit":0}"#);
        write(4, r#"{"exit":9,"state":"TIMEOUT"}"#);
        assert_eq!(element_state(dir.path(), 5, 2, 0), Some(State::Failed(3)));
        assert_eq!(
            element_state(dir.path(), 5, 2, 1),
            None,
            "item 3 has no status"
        );
        assert_eq!(element_state(dir.path(), 5, 2, 2), Some(State::Timeout));
    }
}
