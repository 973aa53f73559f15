//! evcxr's `:opt LEVEL` command, checked before evcxr sees it.
//!
//! evcxr writes LEVEL unquoted into the session crate's `Cargo.toml`
//! (`opt-level = LEVEL`). Cargo's opt-levels are the integers 0 to 3 and the
//! strings `"s"` and `"z"` (Cargo book, "Profiles"), so `:opt s` gave a
//! manifest cargo cannot parse, and every later cell failed to build until
//! `:opt 0`. Here `s` and `z` are quoted for evcxr, and any other level is
//! refused on the cell that asked for it. The level a kernel starts with
//! (`SLUICE_CELL_OPT`, or `opt_level` in the user's `evcxr.toml`) goes
//! through the same check ([`level`], used by `evcxr_config.rs`).

/// The cell with its `:opt` lines made safe for evcxr, or what is wrong
/// with one of them (the whole cell then does not run).
///
/// # Errors
/// A `:opt` line names a level Cargo does not have, or more than one.
pub fn checked(cell: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    let mut changed = false;
    let mut lines = Vec::new();
    for line in cell.split_inclusive('\n') {
        let mut words = line.split_whitespace();
        if words.next() != Some(":opt") {
            lines.push(std::borrow::Cow::Borrowed(line));
            continue;
        }
        let args: Vec<&str> = words.collect();
        let level = match args.as_slice() {
            [] => None,
            [one] => Some(one.trim_matches('"')),
            _ => return Err(refusal(&args.join(" "))),
        };
        let end = if line.ends_with('\n') { "\n" } else { "" };
        match level {
            // evcxr's toggle; with a blank after it evcxr read an empty
            // level ("cannot be an empty string"), so it is written bare.
            None if line.strip_suffix('\n').unwrap_or(line) != ":opt" => {
                lines.push(std::borrow::Cow::Owned(format!(":opt{end}")));
                changed = true;
            }
            None | Some("0" | "1" | "2" | "3") => lines.push(std::borrow::Cow::Borrowed(line)),
            Some(s @ ("s" | "z")) => {
                lines.push(std::borrow::Cow::Owned(format!(":opt \"{s}\"{end}")));
                changed = true;
            }
            Some(other) => return Err(refusal(other)),
        }
    }
    if changed {
        Ok(std::borrow::Cow::Owned(lines.concat()))
    } else {
        Ok(std::borrow::Cow::Borrowed(cell))
    }
}

/// One opt-level as evcxr must be given it: `0` to `3` as they are, `s`
/// and `z` quoted (`"s"`), surrounding quotes and blanks ignored.
///
/// # Errors
/// Anything else, with Cargo's list of levels.
pub fn level(value: &str) -> Result<String, String> {
    match value.trim().trim_matches('"') {
        l @ ("0" | "1" | "2" | "3") => Ok(l.to_owned()),
        s @ ("s" | "z") => Ok(format!("\"{s}\"")),
        other => Err(refusal(other)),
    }
}

fn refusal(level: &str) -> String {
    format!(
        "`:opt {level}`: the opt-level is one of 0, 1, 2, 3, s or z (Cargo's levels); \
         the cells keep the level they had"
    )
}

#[cfg(test)]
mod tests {
    use super::checked;

    #[test]
    fn cargo_levels_pass_and_size_levels_are_quoted() {
        for ok in [
            ":opt",
            ":opt 0",
            ":opt 3",
            "  :opt 2  ",
            ":opt \"1\"",
            "let x = 1;",
        ] {
            assert_eq!(checked(ok).as_deref(), Ok(ok), "{ok}");
        }
        assert_eq!(checked(":opt s").as_deref(), Ok(":opt \"s\""));
        assert_eq!(checked(":opt ").as_deref(), Ok(":opt"));
        assert_eq!(checked("  :opt \t\n1").as_deref(), Ok(":opt\n1"));
        assert_eq!(
            checked(":opt z\nlet a = 1;\n").as_deref(),
            Ok(":opt \"z\"\nlet a = 1;\n")
        );
    }

    #[test]
    fn other_levels_are_refused_with_the_cargo_ones() {
        for bad in [
            ":opt 4",
            ":opt fast",
            ":opt -1",
            ":opt 2 3",
            ":opt 99999999999999999999",
        ] {
            let e = checked(bad).expect_err(bad);
            assert!(e.contains("0, 1, 2, 3, s or z"), "{e}");
        }
        // A line that only starts like the command is not it.
        assert!(checked(":optimize").is_ok());
    }

    #[test]
    fn one_level_as_evcxr_takes_it() {
        use super::level;
        assert_eq!(level("0").as_deref(), Ok("0"));
        assert_eq!(level(" 3 ").as_deref(), Ok("3"));
        assert_eq!(level("\"2\"").as_deref(), Ok("2"));
        assert_eq!(level("s").as_deref(), Ok("\"s\""));
        assert_eq!(level("\"z\"").as_deref(), Ok("\"z\""));
        for bad in ["", "4", "fast", "-1", "2 3"] {
            assert!(level(bad).expect_err(bad).contains("0, 1, 2, 3, s or z"));
        }
    }
}
