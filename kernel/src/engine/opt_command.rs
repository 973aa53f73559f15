//! evcxr's `:opt LEVEL` command, checked before evcxr sees it.
//!
//! evcxr writes LEVEL unquoted into the session crate's `Cargo.toml`
//! (`opt-level = LEVEL`). Cargo's opt-levels are the integers 0 to 3 and the
//! strings `"s"` and `"z"` (Cargo book, "Profiles"), so `:opt s` gave a
//! manifest cargo cannot parse, and every later cell failed to build until
//! `:opt 0`. Here `s` and `z` are quoted for evcxr, and any other level is
//! refused on the cell that asked for it. `SLUICE_CELL_OPT`, the level a
//! kernel starts with, goes through the same check (`execute.rs`).

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
        match level {
            None | Some("0" | "1" | "2" | "3") => lines.push(std::borrow::Cow::Borrowed(line)),
            Some(s @ ("s" | "z")) => {
                let end = if line.ends_with('\n') { "\n" } else { "" };
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
}
