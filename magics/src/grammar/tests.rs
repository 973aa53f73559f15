//! Tests of the magic-line grammar: cell and line magics, arrows, names,
//! ITEMS as expressions, help and spans.

use super::*;

#[test]
fn map_with_arrow_and_options() {
    let (m, body) = parse(
        "%%slurm map chunks -> partial --time 0:30 --max-concurrent 2\nfn f(x: i32) -> i32 { x }",
    )
    .expect("parses");
    let Magic::Map(m) = m else {
        panic!("not a map")
    };
    assert_eq!(m.items, "chunks");
    assert_eq!(m.name.as_deref(), Some("partial"));
    assert_eq!(m.options.time, Some(30));
    assert_eq!(m.options.max_concurrent, Some(2));
    assert_eq!(body, "fn f(x: i32) -> i32 { x }");
}

#[test]
fn items_are_rust_expressions_up_to_the_options() {
    for (line, items, name) in [
        ("%%slurm map 0..n -> out --chunk 2", "0..n", Some("out")),
        ("%%slurm map (0..n).step_by(2)", "(0..n).step_by(2)", None),
        (
            "%%slurm map data.iter().filter(|d| d.ok && d.n > -1).cloned() -> good --time 1",
            "data.iter().filter(|d| d.ok && d.n > -1).cloned()",
            Some("good"),
        ),
        ("%%slurm map &docs[..10] --no-wait", "&docs[..10]", None),
        ("%%slurm map vec![a, b] -> ab", "vec![a, b]", Some("ab")),
        (
            "%%slurm map names.iter().filter(|n| *n != \"a -> b --c\") -> f",
            "names.iter().filter(|n| *n != \"a -> b --c\")",
            Some("f"),
        ),
        ("%%slurm map -5..5", "-5..5", None),
    ] {
        let (m, _) = parse(line).expect(line);
        let Magic::Map(m) = m else {
            panic!("{line}: not a map")
        };
        assert_eq!(m.items, items, "{line}");
        assert_eq!(m.name.as_deref(), name, "{line}");
    }
    assert!(parse("%%slurm map -> out").is_err());
}

#[test]
fn names_rust_cannot_bind_are_refused_or_raw() {
    for bad in ["fn", "self", "Self", "_", "9x", "r#self", "let", "gen"] {
        let e = parse(&format!("%%slurm run -> {bad}\n1")).expect_err(bad);
        assert!(e.message.contains(bad), "{bad}: {}", e.message);
    }
    assert!(
        parse("%%slurm run -> fn\n1")
            .expect_err("keyword")
            .message
            .contains("r#fn")
    );
    let (m, _) = parse("%%slurm run -> r#fn\n1").expect("raw");
    assert!(matches!(m, Magic::Run(r) if r.name.as_deref() == Some("r#fn")));
    assert!(
        parse("%%slurm run -> union\n1").is_ok(),
        "a weak keyword is a name"
    );
}

#[test]
fn typed_arrows_may_hold_spaces() {
    let (m, _) = parse("%%slurm run -> x: Result<i32, String> --time 1\n1").expect("parses");
    let Magic::Run(r) = m else {
        panic!("not a run")
    };
    assert_eq!(r.name.as_deref(), Some("x"));
    assert_eq!(r.result_type.as_deref(), Some("Result<i32, String>"));
    assert_eq!(r.options.time, Some(60));
    let (m, _) = parse("%%slurm run -> m: std::collections::HashMap<(u8, u8), Vec<String>>\n1")
        .expect("parses");
    let Magic::Run(r) = m else {
        panic!("not a run")
    };
    assert_eq!(
        r.result_type.as_deref(),
        Some("std::collections::HashMap<(u8, u8), Vec<String>>")
    );
}

#[test]
fn run_with_typed_arrow() {
    let (m, _) = parse("%%slurm run -> total: i64 --after a,b\nmerge(&a)").expect("parses");
    let Magic::Run(r) = m else {
        panic!("not a run")
    };
    assert_eq!(r.name.as_deref(), Some("total"));
    assert_eq!(r.result_type.as_deref(), Some("i64"));
    assert_eq!(r.options.after, vec!["a", "b"]);
}

#[test]
fn bad_lines_say_what_is_wrong() {
    let e = parse("%%slurm frobnicate").expect_err("fails");
    assert_eq!(
        e.message,
        "unknown %%slurm mode `frobnicate`; %%slurm takes map, run (`%slurm help NAME` for one)"
    );
    let e = parse("%%slurm map xs --tiem 5").expect_err("fails");
    assert!(e.message.contains("--tiem"), "{}", e.message);
    let e = parse("%%bogus").expect_err("fails");
    assert!(e.message.contains("unknown magic"));
    let e = parse("%%slurm map xs -> 9bad").expect_err("fails");
    assert!(e.message.contains("identifier"));
    assert_eq!(e.span, Some(18..22), "{e:?}");
    let e = parse("%%slurm map xs --time never").expect_err("fails");
    assert!(e.message.contains("never"), "{}", e.message);
}

#[test]
fn a_typo_is_one_line_saying_what_was_meant() {
    let e = parse("%slurm statu").expect_err("fails");
    assert_eq!(
        e.message,
        "unknown %slurm sub-command `statu`; did you mean `status`?"
    );
    let e = parse("%%slurm map xs --tiem 5").expect_err("fails");
    assert_eq!(
        e.message,
        "unknown option `--tiem` of `%%slurm map`; did you mean `--time`?"
    );
    let e =
        crate::grammar::sweep::parse("a in [1, 2] -> typo --maximise value").expect_err("fails");
    assert_eq!(
        e.message,
        "unknown option `--maximise` of `%%sweep`; did you mean `--maximize`?"
    );
    // Of clap's candidates, the one fewest edits away.
    for typo in ["reprot", "reprt", "rport", "reportt"] {
        let e = parse(&format!("%slurm {typo}")).expect_err("fails");
        assert!(
            e.message.ends_with("did you mean `report`?"),
            "{typo}: {}",
            e.message
        );
    }
}

#[test]
fn line_magics() {
    assert_eq!(
        parse("%slurm jobs").expect("parses").0,
        Magic::Line(LineMagic::Jobs)
    );
    assert_eq!(
        parse("%slurm").expect("parses").0,
        Magic::Help(USAGE.to_string())
    );
    let Magic::Help(text) = parse("%slurm help map").expect("parses").0 else {
        panic!("help is output")
    };
    assert!(text.contains("--max-concurrent"), "{text}");
    assert!(matches!(
        parse("%slurm --help").expect("parses").0,
        Magic::Help(_)
    ));
    assert!(matches!(
        parse("%%slurm map --help").expect("parses").0,
        Magic::Help(_)
    ));
    assert!(parse("%slurm help frobnicate").is_err());
    assert_eq!(
        parse("%slurm logs partial[3]").expect("parses").0,
        Magic::Line(LineMagic::Logs {
            job: "partial[3]".into()
        })
    );
    assert_eq!(parse("%lsmagic").expect("parses").0, Magic::LsMagic);
}

#[test]
fn errors_name_what_is_wrong_and_show_a_correct_line() {
    for (line, message) in [
        (
            "%slurm wait",
            "`%slurm wait` needs JOB, a job name; for example `%slurm wait NAME`",
        ),
        (
            "%slurm cancel",
            "`%slurm cancel` needs JOB, a job name; for example `%slurm cancel NAME`",
        ),
        (
            "%slurm retry",
            "`%slurm retry` needs JOB, a job name; for example `%slurm retry NAME`",
        ),
        (
            "%slurm logs",
            "`%slurm logs` needs JOB, a job name; for example `%slurm logs NAME[3]`",
        ),
        (
            "%slurm load",
            "`%slurm load` needs JOB, a job name; for example `%slurm load NAME`",
        ),
        (
            "%slurm cache",
            "`%slurm cache` needs ACTION, what to do (clear); for example `%slurm cache clear`",
        ),
        (
            "%slurm config --cache",
            "`--cache` needs a value; for example `%slurm config --cache on`",
        ),
        (
            "%slurm config --cache maybe",
            "invalid value 'maybe' for '--cache <CACHE>': `maybe` is neither on nor off; for example `%slurm config --cache on`",
        ),
        (
            "%slurm report --save",
            "`--save` needs a value; for example `%slurm report NAME --save results.json`",
        ),
        (
            "%slurm retry j --mem",
            "`--mem` needs a value; for example `%slurm retry NAME --mem 2G`",
        ),
        (
            "%slurm retry j --time 99999999999999999999",
            "invalid value '99999999999999999999' for '--time <TIME>': `99999999999999999999` is too long a time limit: Slurm holds at most 2982616-04:12:00 (UNLIMITED: no limit); for example `%slurm retry NAME --time 1:30:00`",
        ),
        (
            "%slurm retry j --cpus-per-task 99999999999",
            "`--cpus-per-task` takes a whole number from 1 to 4294967295, not `99999999999`; for example `%slurm retry NAME --cpus-per-task 4`",
        ),
        (
            "%slurm wait a b",
            "unexpected argument 'b' found; for example `%slurm wait NAME`",
        ),
        (
            "%slurm jobs x",
            "unexpected argument 'x' found; for example `%slurm jobs`",
        ),
        (
            "%slurm status --all=3",
            "`--all` takes no value; for example `%slurm status NAME --all`",
        ),
        (
            "%slurm xyz",
            "unknown %slurm sub-command `xyz`; %slurm takes config, jobs, status, wait, cancel, logs, retry, cache, load, graph, report, help (`%slurm help NAME` for one)",
        ),
        (
            "%%slurm map",
            "`%%slurm map` needs ITEMS, a Rust expression giving the items; for example `%%slurm map 0..4 -> out`",
        ),
        (
            "%%slurm map 0..3 --time",
            "`--time` needs a value; for example `%%slurm map 0..4 -> out --time 1:30:00`",
        ),
        (
            "%%sweep a in [1] --maximize",
            "`--maximize` needs a value; for example `%%sweep lr in [0.1, 0.01] -> fit --maximize score`",
        ),
    ] {
        let e = parse(line).expect_err(line);
        assert_eq!(e.message, message, "{line}");
        assert!(!e.message.contains('\n'), "{line}: {}", e.message);
    }
}

/// Every option of every magic has an example, and the example parses.
#[test]
fn every_example_line_parses() {
    let mut commands: Vec<(String, clap::Command)> = line_command()
        .get_subcommands()
        .map(|c| (format!("%slurm {}", c.get_name()), c.clone()))
        .collect();
    commands.extend(
        cell_command()
            .get_subcommands()
            .map(|c| (format!("%%slurm {}", c.get_name()), c.clone())),
    );
    commands.push(("%%sweep".into(), sweep::command()));
    for (name, command) in commands {
        let base = hints::example(&name, None).unwrap_or_else(|| panic!("no example of {name}"));
        assert!(parse(&base).is_ok(), "{base}: {:?}", parse(&base).err());
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long().filter(|l| *l != "help") else {
                continue;
            };
            let option = format!("--{long}");
            let line = hints::example(&name, Some(&option)).unwrap_or_default();
            assert!(line.contains(&option), "{name} {option}: {line}");
            assert!(parse(&line).is_ok(), "{line}: {:?}", parse(&line).err());
        }
    }
}

/// A typo of a mode, a sub-command, an option of any sub-command or a
/// value is one line naming it and what was meant, where clap's own
/// similarity finds nothing (`mpa`, `rn`, `--dto`, `stauts`).
#[test]
fn every_typo_says_what_was_meant() {
    for (line, message) in [
        (
            "%%slurm mpa",
            "unknown %%slurm mode `mpa`; did you mean `map`?",
        ),
        (
            "%%slurm rn",
            "unknown %%slurm mode `rn`; did you mean `run`?",
        ),
        (
            "%%slurm mapp 0..3",
            "unknown %%slurm mode `mapp`; did you mean `map`?",
        ),
        (
            "%slurm stauts",
            "unknown %slurm sub-command `stauts`; did you mean `status`?",
        ),
        (
            "%slurm lgos x",
            "unknown %slurm sub-command `lgos`; did you mean `logs`?",
        ),
        (
            "%slurm graph --dto",
            "unknown option `--dto` of `%slurm graph`; did you mean `--dot`?",
        ),
        (
            "%slurm graph --al",
            "unknown option `--al` of `%slurm graph`; did you mean `--all`?",
        ),
        (
            "%slurm status --al",
            "unknown option `--al` of `%slurm status`; did you mean `--all`?",
        ),
        (
            "%slurm report --jsn",
            "unknown option `--jsn` of `%slurm report`; did you mean `--json`?",
        ),
        (
            "%slurm config --backedn slurm",
            "unknown option `--backedn` of `%slurm config`; did you mean `--backend`?",
        ),
        (
            "%slurm retry j --memm 3",
            "unknown option `--memm` of `%slurm retry`; did you mean `--mem`?",
        ),
        (
            "%slurm cache clera",
            "unknown value `clera` of `%slurm cache`; did you mean `clear`?",
        ),
        (
            "%%slurm run --no-wiat\n1",
            "unknown option `--no-wiat` of `%%slurm run`; did you mean `--no-wait`?",
        ),
        (
            "%%slurm run --tim 3\n1",
            "unknown option `--tim` of `%%slurm run`; did you mean `--time`?",
        ),
        (
            "%%sweep a in [1] --zipp",
            "unknown option `--zipp` of `%%sweep`; did you mean `--zip`?",
        ),
        (
            "%%slurm map 0..3 --backend slrum",
            "unknown value `slrum` of `--backend`; did you mean `slurm`?",
        ),
        (
            "%slurm config --backend locl",
            "unknown value `locl` of `--backend`; did you mean `local`?",
        ),
        (
            "%%slurm run --dependency afterk --after a\n1",
            "unknown value `afterk` of `--dependency`; did you mean `afterok`?",
        ),
        (
            "%slurm config --cache onn",
            "unknown value `onn` of `--cache`; did you mean `on`?",
        ),
    ] {
        let e = parse(line).expect_err(line);
        assert_eq!(e.message, message, "{line}");
    }
    // Nothing near: no guess.
    let e = parse("%slurm graph --frobnicate").expect_err("fails");
    assert!(!e.message.contains("did you mean"), "{}", e.message);
    assert!(!e.message.contains('\n'), "{}", e.message);
}

/// Every numeric option refuses a negative, zero (where a count must be
/// positive), a fraction or an overflowing number in one line naming the
/// option and its range; none is misread as another argument.
#[test]
fn numeric_options_name_their_range() {
    let sweep = "%%sweep lr in [0.1, 0.01] -> fit";
    let map = "%%slurm map 0..4 -> out";
    let retry = "%slurm retry NAME";
    for (line, option, range, example) in [
        (
            "%%sweep a in [1] --random -3",
            "--random",
            "1 to 100000",
            format!("{sweep} --random 20"),
        ),
        (
            "%%sweep a in [1] --random 0",
            "--random",
            "1 to 100000",
            format!("{sweep} --random 20"),
        ),
        (
            "%%sweep a in [1] --random 99999999999999999999999",
            "--random",
            "1 to 100000",
            format!("{sweep} --random 20"),
        ),
        (
            "%%sweep a in [1] --seed -1",
            "--seed",
            "0 to 18446744073709551615",
            format!("{sweep} --seed 7"),
        ),
        (
            "%%sweep a in [1] --retries -1",
            "--retries",
            "0 to 100",
            format!("{sweep} --retries 2"),
        ),
        (
            "%%slurm map 0..3 --chunk 0",
            "--chunk",
            "1 to 4294967295",
            format!("{map} --chunk auto"),
        ),
        (
            "%%slurm map 0..3 --chunk -2",
            "--chunk",
            "1 to 4294967295",
            format!("{map} --chunk auto"),
        ),
        (
            "%%slurm map 0..3 --chunk 1.5",
            "--chunk",
            "1 to 4294967295",
            format!("{map} --chunk auto"),
        ),
        (
            "%%slurm map 0..3 --retries -1",
            "--retries",
            "0 to 100",
            format!("{map} --retries 2"),
        ),
        (
            "%%slurm map 0..3 --retries 4294967296",
            "--retries",
            "0 to 100",
            format!("{map} --retries 2"),
        ),
        (
            "%%slurm map 0..3 --max-concurrent 0",
            "--max-concurrent",
            "1 to 4294967295",
            format!("{map} --max-concurrent 8"),
        ),
        (
            "%%slurm map 0..3 --max-concurrent -1",
            "--max-concurrent",
            "1 to 4294967295",
            format!("{map} --max-concurrent 8"),
        ),
        (
            "%%slurm map 0..3 --cpus-per-task 0",
            "--cpus-per-task",
            "1 to 4294967295",
            format!("{map} --cpus-per-task 4"),
        ),
        (
            "%%slurm run --cpus-per-task -1",
            "--cpus-per-task",
            "1 to 4294967295",
            "%%slurm run -> out --cpus-per-task 4".to_string(),
        ),
        (
            "%slurm retry j --cpus-per-task -1",
            "--cpus-per-task",
            "1 to 4294967295",
            format!("{retry} --cpus-per-task 4"),
        ),
    ] {
        let e = parse(line).expect_err(line);
        let value = line.rsplit(' ').next().unwrap_or_default();
        assert_eq!(
            e.message,
            format!(
                "`{option}` takes a whole number from {range}, not `{value}`{}; for example `{example}`",
                if option == "--chunk" {
                    " (or `auto`)"
                } else {
                    ""
                }
            ),
            "{line}"
        );
    }
    // The ranges' ends are taken.
    for ok in [
        "%%sweep a in 0..100000 --random 100000 --seed 18446744073709551615",
        "%%slurm map 0..3 --retries 100 --chunk 4294967295 --max-concurrent 1 --cpus-per-task 1",
    ] {
        assert!(parse(ok).is_ok(), "{ok}: {:?}", parse(ok).err());
    }
    // A negative or huge time or memory is refused in one line too.
    for bad in [
        "%slurm retry j --mem -1",
        "%slurm retry j --time -5",
        "%%slurm map 0..3 --mem 99999999999999999999G",
    ] {
        let e = parse(bad).expect_err(bad);
        assert!(
            !e.message.contains('\n') && e.message.contains("for example"),
            "{bad}: {}",
            e.message
        );
    }
}

/// A `%%sweep` line missing a part says which, in one line with a line
/// to copy; that line parses.
#[test]
fn a_sweep_missing_a_part_is_one_line() {
    let example = "; for example `%%sweep lr in [0.1, 0.01] -> fit`";
    for (line, what) in [
        (
            "%%sweep",
            "`%%sweep` needs a parameter and its values: PARAM in VALUES",
        ),
        (
            "%%sweep -> fit",
            "`%%sweep` needs a parameter and its values: PARAM in VALUES",
        ),
        (
            "%%sweep --random 3",
            "`%%sweep` needs a parameter and its values: PARAM in VALUES",
        ),
        (
            "%%sweep lr [1, 2]",
            "`lr [1, 2]` has no `in`: write PARAM in VALUES (`lr in [..]`)",
        ),
        (
            "%%sweep lr",
            "`lr` has no `in`: write PARAM in VALUES (`lr in [..]`)",
        ),
        (
            "%%sweep lr in",
            "parameter `lr` has no values after `in`: give a list, a range, linspace(..) or logspace(..)",
        ),
        (
            "%%sweep lr in -> fit",
            "parameter `lr` has no values after `in`: give a list, a range, linspace(..) or logspace(..)",
        ),
        (
            "%%sweep in [1, 2]",
            "`in [1, 2]` has no parameter name before `in`: write PARAM in VALUES",
        ),
        (
            "%%sweep a in [1], , b in [2]",
            "a parameter is missing between two commas",
        ),
        ("%%sweep lr in []", "parameter `lr` has no values"),
        ("%%sweep lr in [1, 2] ->", "`->` needs a NAME after it"),
    ] {
        let e = parse(line).expect_err(line);
        assert_eq!(e.message, format!("{what}{example}"), "{line}");
    }
    assert!(parse("%%sweep lr in [0.1, 0.01] -> fit").is_ok());
}

#[test]
fn body_line_l_is_cell_line_l_plus_one_after_empty_lines() {
    let (_, body) = parse("%%slurm map 0..3\nfn f(x: u32) -> u32 { x }").expect("parses");
    assert_eq!(body, "fn f(x: u32) -> u32 { x }");
    // Empty lines before the magic stay, as empty lines before the body.
    let (_, body) =
        parse("\n\r\n%%slurm map 0..3\nfn f(x: u32) -> u32 {\n    x\n}").expect("parses");
    assert_eq!(body, "\n\nfn f(x: u32) -> u32 {\n    x\n}");
}
