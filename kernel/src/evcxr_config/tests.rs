//! The overlay's `evcxr.toml` and links, and the level a kernel starts at,
//! for users with and without their own evcxr settings. (These tests
//! assume `SLUICE_CELL_OPT` is not set, as in the test run.)

use super::{OverlayError, Start, write_overlay};
use std::path::Path;

fn written(slot: &Path) -> toml::Table {
    let text = std::fs::read_to_string(slot.join("evcxr-config/evcxr.toml")).unwrap();
    text.parse().unwrap()
}

fn opt_level(t: &toml::Table) -> &str {
    t["evcxr"]["opt_level"].as_str().unwrap()
}

#[test]
fn without_user_settings_cells_start_at_0() {
    let slot = tempfile::tempdir().unwrap();
    let (dir, level) = write_overlay(slot.path(), None).unwrap();
    assert_eq!(dir, slot.path().join("evcxr-config"));
    assert_eq!(level, "0");
    assert_eq!(opt_level(&written(slot.path())), "0");
    assert!(!dir.join("init.evcxr").exists());
}

#[test]
fn the_users_settings_and_files_are_kept() {
    let slot = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    std::fs::write(
        user.path().join("evcxr.toml"),
        "[evcxr]\nopt_level = \"3\"\npreserve_vars_on_panic = false\n\n[dependencies]\nitoa = \"1\"\n",
    )
    .unwrap();
    std::fs::write(user.path().join("init.evcxr"), ":dep itoa\n").unwrap();
    let (dir, level) = write_overlay(slot.path(), Some(user.path())).unwrap();
    assert_eq!(level, "3");
    let t = written(slot.path());
    assert_eq!(opt_level(&t), "3");
    assert_eq!(t["evcxr"]["preserve_vars_on_panic"].as_bool(), Some(false));
    assert_eq!(t["dependencies"]["itoa"].as_str(), Some("1"));
    assert_eq!(
        std::fs::read_link(dir.join("init.evcxr")).unwrap(),
        user.path().join("init.evcxr")
    );
    assert!(!dir.join("prelude.rs").exists());
    // A second kernel in the same slot, after the user removed init.evcxr.
    std::fs::remove_file(user.path().join("init.evcxr")).unwrap();
    write_overlay(slot.path(), Some(user.path())).unwrap();
    assert!(std::fs::symlink_metadata(dir.join("init.evcxr")).is_err());
}

#[test]
fn a_users_level_is_written_as_evcxr_needs_it() {
    for (user_level, expected) in [
        ("s", "\"s\""),
        ("\"z\"", "\"z\""),
        ("fast", "0"),
        ("4", "0"),
    ] {
        let slot = tempfile::tempdir().unwrap();
        let user = tempfile::tempdir().unwrap();
        let file = format!("[evcxr]\nopt_level = {:?}\n", user_level);
        std::fs::write(user.path().join("evcxr.toml"), file).unwrap();
        let (_, level) = write_overlay(slot.path(), Some(user.path())).unwrap();
        assert_eq!(level, expected, "{user_level}");
        assert_eq!(opt_level(&written(slot.path())), expected, "{user_level}");
    }
}

#[test]
fn a_file_evcxr_cannot_read_is_left_to_evcxr() {
    let slot = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    std::fs::write(user.path().join("evcxr.toml"), "[evcxr\nopt_level = 1").unwrap();
    assert!(matches!(
        write_overlay(slot.path(), Some(user.path())),
        Err(OverlayError::Parse { .. })
    ));
    std::fs::write(user.path().join("evcxr.toml"), "evcxr = 3\n").unwrap();
    assert!(matches!(
        write_overlay(slot.path(), Some(user.path())),
        Err(OverlayError::NotATable { .. })
    ));
}

#[test]
fn without_the_overlay_opt_runs_unless_evcxr_took_the_level_as_written() {
    let table = |level: &str| -> toml::Table {
        format!("[evcxr]\nopt_level = {level:?}\n").parse().unwrap()
    };
    assert_eq!(
        Start::after(None),
        Start {
            level: "0".into(),
            evcxr_starts_there: false
        }
    );
    assert_eq!(
        Start::after(Some(&table("2"))),
        Start {
            level: "2".into(),
            evcxr_starts_there: true
        }
    );
    // evcxr would write `opt-level = s` into the manifest: `:opt "s"` fixes it.
    assert_eq!(
        Start::after(Some(&table("s"))),
        Start {
            level: "\"s\"".into(),
            evcxr_starts_there: false
        }
    );
    assert_eq!(
        Start::after(Some(&table("fast"))),
        Start {
            level: "0".into(),
            evcxr_starts_there: false
        }
    );
}

#[test]
fn settings_identity_follows_the_file_evcxr_reads() {
    use super::settings_identity;
    use std::collections::BTreeMap;
    let cwd = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let env: BTreeMap<String, String> = [(
        "EVCXR_CONFIG_DIR".to_owned(),
        config.path().display().to_string(),
    )]
    .into();
    let none = settings_identity(cwd.path(), &env);
    // The configuration directory's file, then an edit of it.
    std::fs::write(config.path().join("evcxr.toml"), "[evcxr]\n").unwrap();
    let configured = settings_identity(cwd.path(), &env);
    assert_ne!(configured, none);
    std::fs::write(
        config.path().join("evcxr.toml"),
        "[evcxr]\nopt_level = \"2\"\n",
    )
    .unwrap();
    let edited = settings_identity(cwd.path(), &env);
    assert_ne!(edited, configured);
    // ./evcxr.toml comes first, even with the same bytes, and its
    // directory counts (a relative `tmpdir` resolves there).
    std::fs::write(
        cwd.path().join("evcxr.toml"),
        "[evcxr]\nopt_level = \"2\"\n",
    )
    .unwrap();
    let local = settings_identity(cwd.path(), &env);
    assert_ne!(local, edited);
    assert_eq!(local, settings_identity(cwd.path(), &BTreeMap::new()));
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::copy(
        cwd.path().join("evcxr.toml"),
        elsewhere.path().join("evcxr.toml"),
    )
    .unwrap();
    assert_ne!(local, settings_identity(elsewhere.path(), &env));
    // Without EVCXR_CONFIG_DIR: $XDG_CONFIG_HOME/evcxr, else
    // $HOME/.config/evcxr.
    let xdg = tempfile::tempdir().unwrap();
    std::fs::create_dir(xdg.path().join("evcxr")).unwrap();
    let plain = tempfile::tempdir().unwrap();
    let by_xdg: BTreeMap<String, String> = [(
        "XDG_CONFIG_HOME".to_owned(),
        xdg.path().display().to_string(),
    )]
    .into();
    let before = settings_identity(plain.path(), &by_xdg);
    std::fs::write(xdg.path().join("evcxr/evcxr.toml"), "[evcxr]\n").unwrap();
    assert_ne!(before, settings_identity(plain.path(), &by_xdg));
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".config/evcxr")).unwrap();
    let by_home: BTreeMap<String, String> =
        [("HOME".to_owned(), home.path().display().to_string())].into();
    let before = settings_identity(plain.path(), &by_home);
    std::fs::write(home.path().join(".config/evcxr/evcxr.toml"), "[evcxr]\n").unwrap();
    assert_ne!(before, settings_identity(plain.path(), &by_home));
}
