use super::*;

const SERDE: &str = ":dep serde = { version = \"1\", features = [\"derive\"] }";

fn history(dir: &Path, first_cells: &[&str]) -> PathBuf {
    let file = dir.join(FILE);
    for cell in first_cells {
        record(&file, cell);
    }
    file
}

#[test]
fn two_first_cells_that_agree_are_expected() {
    let dir = tempfile::tempdir().unwrap();
    let cell = format!("{SERDE}\n\n:dep itoa = \"1\"\nuse serde::Serialize;");
    let file = history(dir.path(), &[&cell, &cell]);
    let primed = expected(&file).unwrap();
    assert_eq!(
        primed.lines,
        vec![SERDE.to_string(), ":dep itoa = \"1\"".into()]
    );
    assert_eq!(primed.code(), format!("{SERDE}\n:dep itoa = \"1\""));
}

#[test]
fn one_cell_or_two_that_differ_or_none_with_deps_expect_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = history(dir.path(), &[SERDE]);
    assert_eq!(expected(&file), None);
    record(&file, ":dep itoa = \"1\"");
    assert_eq!(expected(&file), None);
    record(&file, "let x = 1;");
    record(&file, "let y = 2;");
    assert_eq!(expected(&file), None, "no :dep lines: nothing to add");
    // Only the last two count.
    record(&file, SERDE);
    record(&file, SERDE);
    assert!(expected(&file).is_some());
}

#[test]
fn a_path_git_or_odd_specification_is_never_added() {
    for line in [
        ":dep mycrate = { path = \"../mycrate\" }",
        ":dep ./mycrate",
        ":dep /abs/mycrate",
        ":dep x = { git = \"https://example.invalid/x\" }",
        ":dep x = { version = \"1\", registry = \"other\" }",
        ":dep x = [1, 2]",
        ":dep x = { version = ",
        ":dep we!rd = \"1\"",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = history(dir.path(), &[line, line]);
        assert_eq!(expected(&file), None, "{line}");
    }
    for line in [
        ":dep itoa",
        ":dep itoa = \"1\"",
        ":dep serde_json = { version = \"1\", default-features = false, features = [\"std\"] }",
        ":dep rand_core = { package = \"rand_core\", version = \"0.6\" }",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = history(dir.path(), &[line, line]);
        assert!(expected(&file).is_some(), "{line}");
    }
}

#[test]
fn a_first_cell_asks_for_the_added_crates_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let both = format!("{SERDE}\n:dep itoa = \"1\"");
    let file = history(dir.path(), &[&both, &both]);
    let primed = expected(&file).unwrap();
    assert!(primed.asked_for_by(&both));
    assert!(primed.asked_for_by(&format!("{both}\n:dep ryu = \"1\"\nlet x = 1;")));
    // Another specification of the same crates: evcxr rebuilds with it.
    assert!(primed.asked_for_by(":dep serde = \"1.0.200\"\n:dep itoa"));
    assert!(!primed.asked_for_by(SERDE), "itoa missing");
    assert!(!primed.asked_for_by("use serde::Serialize;"));
    assert!(
        !primed.asked_for_by("let x = 1;\n:dep serde\n:dep itoa"),
        ":dep lines after code are not the cell's start"
    );
    assert!(!primed.asked_for_by(""));
}

#[test]
fn an_unreadable_history_expects_nothing_and_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(FILE);
    std::fs::write(&file, "not json").unwrap();
    assert_eq!(expected(&file), None);
    record(&file, SERDE);
    record(&file, SERDE);
    assert!(expected(&file).is_some());
}

#[test]
fn only_crates_the_slot_built_before_are_added() {
    let dir = tempfile::tempdir().unwrap();
    let cell = ":dep itoa = \"1\"\n:dep serde-json-x = { package = \"my-pkg\", version = \"1\" }";
    let file = history(dir.path(), &[cell, cell]);
    let primed = expected(&file).unwrap();
    let slot = dir.path().join("slot-0");
    assert!(!primed.built_in(&slot), "no target directory");
    let deps = slot.join("target/x86_64-unknown-linux-gnu/debug/deps");
    std::fs::create_dir_all(&deps).unwrap();
    std::fs::write(deps.join("libitoa-0123abcd.rlib"), "").unwrap();
    std::fs::write(deps.join("libitoa-0123abcd.rmeta"), "").unwrap();
    assert!(!primed.built_in(&slot), "my-pkg missing");
    // A renamed dependency's library is its package's name, `-` as `_`.
    std::fs::write(deps.join("libserde_json_x-77.rlib"), "").unwrap();
    assert!(!primed.built_in(&slot));
    std::fs::write(deps.join("libmy_pkg-99aa.rlib"), "").unwrap();
    assert!(primed.built_in(&slot));
}

#[test]
fn repeated_lines_count_once_and_huge_cells_or_files_are_not_prepared_for() {
    let one = ":dep itoa = \"1\"";
    assert_eq!(
        dep_lines(&format!("{one}\n{one}\n  {one}  ")),
        vec![one.to_string()]
    );
    let many: String = (0..=MAX_LINES)
        .map(|n| format!(":dep c{n} = \"1\"\n"))
        .collect();
    assert!(dep_lines(&many).is_empty());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(FILE);
    let entry = format!("[\"{}\"]", one.replace('"', "\\\""));
    let big = format!("[{entry},{entry}{}]", " ".repeat(MAX_FILE as usize));
    std::fs::write(&file, big).unwrap();
    assert_eq!(expected(&file), None);
    let long: Vec<String> = (0..=MAX_LINES)
        .map(|n| format!(":dep c{n} = \"1\""))
        .collect();
    std::fs::write(
        &file,
        serde_json::to_string(&vec![long.clone(), long]).unwrap(),
    )
    .unwrap();
    assert_eq!(expected(&file), None);
}
