"""%%sweep through the real kernel on the local executor: the ranked table
(text and HTML) with the best row marked, the SVG plot, `NAME` and
`NAME_best` bound, the saved CSV/JSON, --no-wait then %slurm wait, failed
and NaN configurations, and bad input."""

import csv
import json
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, run_cell

TIMEOUT = 600

TRAIN = """\
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Trained { pub lr: f64, pub batch_size: i64, pub seed: i64, pub accuracy: f64 }
fn train(lr: f64, batch_size: i64, seed: i64) -> Trained {
    let accuracy = 0.9 - (lr.log10() + 2.0).abs() * 0.1 - batch_size as f64 / 1000.0 + seed as f64 * 0.001;
    Trained { lr, batch_size, seed, accuracy }
}"""


@pytest.fixture(scope="module")
def nb():
    workdir = tempfile.mkdtemp(prefix="sluice-sweep-")
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, cwd=workdir)
    try:
        ok(kc, ':dep serde = { version = "1", features = ["derive"] }')
        ok(kc, TRAIN)
        yield km, kc, Path(workdir)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def ok(kc, code):
    c = run_cell(kc, code, timeout=TIMEOUT)
    assert c.status == "ok", c.error()
    return c


def value(kc, expr):
    return ok(kc, expr).of_type("execute_result")[0]["content"]["data"]["text/plain"]


def outputs(c, mime):
    return [m["content"]["data"][mime] for m in c.of_type("display_data") if mime in m["content"]["data"]]


def table_of(c):
    return next(t for t in outputs(c, "text/plain") if t.lstrip().startswith("#"))


def test_grid_sweep_ranks_marks_best_binds_plots_and_saves(nb):
    _, kc, workdir = nb
    c = ok(kc, "%%sweep lr in [1e-3, 1e-2, 1e-1], bs in [32, 64], seed in 0..2 -> runs --maximize accuracy --save out/runs.csv\n"
               "train(lr, bs, seed)")
    table = table_of(c).splitlines()
    assert table[0].split()[:5] == ["#", "lr", "bs", "seed", "accuracy"]
    assert len(table) == 13
    # lr 0.01, bs 32, seed 1 is best: config index 4*1 + 2*0 + 1 = 5, marked and first
    assert table[1].split()[:5] == ["*", "5", "0.01", "32", "1"]
    assert sum(line.startswith("*") for line in table) == 1
    accs = [float(line.split()[5 if line.startswith("*") else 4]) for line in table[1:]]
    assert accs == sorted(accs, reverse=True)
    html = next(h for h in outputs(c, "text/html") if "sluice-sweep" in h)
    assert html.count("<tr") == 13 and "★" in html
    # the plot: valid SVG, one panel per parameter, the best point drawn
    svg = outputs(c, "image/svg+xml")[0]
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    text = "".join(root.itertext())
    for p in ("lr", "bs", "seed"):
        assert f"accuracy (max) vs {p}" in text
    # per panel: 11 translucent points (a fill and an outline each), the best in red
    assert svg.count("<circle") == 3 * (11 * 2 + 1)
    assert svg.count('fill="#D9443F"') == 3
    # three parameters: the parallel-coordinates picture, one line per configuration
    parallel = outputs(c, "image/svg+xml")[1]
    assert parallel.count("<polyline") == 12 and "accuracy (max)" in parallel
    # NAME and NAME_best bound with their types
    assert value(kc, "runs.len()") == "12"
    assert value(kc, "runs_best.0") == "(0.01, 32, 1)"
    assert value(kc, "runs_best.1.batch_size") == "32"
    # the saved table, ranked like the shown one
    rows = list(csv.DictReader((workdir / "out" / "runs.csv").open()))
    assert len(rows) == 12 and rows[0]["config"] == "5" and rows[0]["status"] == "ok"
    assert json.loads(rows[0]["result"])["seed"] == 1


def test_same_cell_same_configurations_and_random_is_seeded(nb):
    _, kc, workdir = nb
    code = "%%sweep a in 0..50, b in 0..50 -> r{n} --random 6 --seed 7 --minimize value --save out/r{n}.json\n(a * 100 + b) as f64"
    ok(kc, code.format(n=1))
    ok(kc, code.format(n=2))
    one = json.loads((workdir / "out" / "r1.json").read_text())
    two = json.loads((workdir / "out" / "r2.json").read_text())
    assert one == two and len(one) == 6
    assert [r["objective"] for r in one] == sorted(r["objective"] for r in one)
    assert all(r["objective"] == r["params"]["a"] * 100 + r["params"]["b"] for r in one)
    assert value(kc, "r1.len()") == "6"


def test_zip_linspace_and_logspace(nb):
    _, kc, _ = nb
    c = ok(kc, "%%sweep x in linspace(0, 1, 5), y in logspace(-2, 0, 5) -> z --zip --minimize value\n(x - 0.5).abs() + y")
    assert "bound `z: Vec<((f64, f64,), f64)>` (5 of 5" in "\n".join(outputs(c, "text/plain"))
    assert value(kc, "z_best.0 .0") == "0.5"


def svg_texts(svg):
    return ["".join(t.itertext()).strip() for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]


def test_plots_over_many_decades_keep_few_ticks(nb):
    _, kc, _ = nb
    # x and the objective over 24 decades: powers of ten every few decades
    # on both axes (the objective on a log axis), never a block of labels.
    c = ok(kc, "%%sweep x in logspace(-12, 12, 7) -> decades --minimize value\nx")
    texts = svg_texts(outputs(c, "image/svg+xml")[0])
    assert len(texts) <= 3 + 8 + 8, texts
    assert "1e-10" in texts and "1e10" in texts, texts
    c = ok(kc, "%%sweep x in [1e-300, 1e300] -> extremes --minimize value\n1.0")
    texts = svg_texts(outputs(c, "image/svg+xml")[0])
    assert len(texts) <= 3 + 8 + 8, texts
    # Large objectives read compact: -2e6, not -2000000.
    c = ok(kc, "%%sweep x in 0..3 -> large --minimize value\n-(x as f64) * 1e6")
    texts = svg_texts(outputs(c, "image/svg+xml")[0])
    assert "-2e6" in texts and not any("000000" in t for t in texts), texts


def test_failed_and_nan_configurations_are_shown_and_ranked_last(nb):
    _, kc, _ = nb
    c = run_cell(kc, "%%sweep x in 0..5 -> mixed --maximize value\n"
                     "if x == 1 { panic!(\"bad config {x}\") } else if x == 3 { f64::NAN } else { x as f64 }",
                 timeout=TIMEOUT)
    assert c.status == "error"
    assert c.error()["ename"] == "SweepFailed"
    assert "1 of 5 configurations of `mixed` failed" in c.error()["evalue"]
    table = table_of(c).splitlines()
    assert table[1].split()[:3] == ["*", "4", "4"]
    assert table[-2].split()[:3] == ["3", "3", "NaN"]
    assert table[-1].split()[:2] == ["1", "1"] and "bad config 1" in table[-1]
    bound = "\n".join(outputs(c, "text/plain"))
    # The NaN result crosses as it is (RON, where JSON has no NaN).
    assert "(4 of 5 configurations)" in bound, bound
    assert value(kc, "mixed.iter().map(|(p, _)| p.0).collect::<Vec<_>>()") == "[0, 2, 3, 4]"
    assert value(kc, "mixed[2].1.is_nan()") == "true"
    assert value(kc, "mixed_best.1") == "4.0"


def test_failed_configurations_sit_under_a_header(nb):
    _, kc, _ = nb
    c = run_cell(kc, "%%sweep x in 0..5 -> mixed --maximize value\n"
                     "if x == 1 { panic!(\"bad config {x}\") } else if x == 3 { f64::NAN } else { x as f64 }",
                 timeout=TIMEOUT)
    table = table_of(c).splitlines()
    # A plain number has no result columns: the failure gets one of its own.
    assert table[0].split() == ["#", "x", "value", "(max)", "error"], table
    assert table[-1].index("FAILED") == table[0].index("error"), table
    html = next(h for h in outputs(c, "text/html") if "sluice-sweep" in h)
    assert "<th style=\"white-space:nowrap;text-align:left\">error</th>" in html
    assert all(row.count("<td") == 5 for row in html.split("<tr")[2:]), html


STATS = """\
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stats { pub zeta: f64, pub steps: u64, pub huge: f64, pub label: String }"""


def test_result_columns_in_field_order_with_exact_integers(nb):
    _, kc, _ = nb
    ok(kc, STATS)
    c = run_cell(kc, "%%sweep k in [1, 2, 3] -> stats --maximize huge\n"
                     "if k == 3 { panic!(\"bad k\") }\n"
                     "Stats { zeta: -0.0, steps: u64::MAX - (k as u64 - 1), huge: 123456.7 * k as f64, "
                     "label: format!(\"line one\\nline {k}\") }",
                 timeout=TIMEOUT)
    table = table_of(c).splitlines()
    assert len(table) == 4, table
    # The struct's order, not the alphabet's.
    assert table[0].split() == ["#", "k", "huge", "(max)", "zeta", "steps", "label"], table
    # u64 exact, floats to four digits, -0 as -0, `\n` kept on the row.
    assert table[1].split() == ["*", "1", "2", "2.469e5", "-0", "18446744073709551614", "line", "one\\nline", "2"], table
    assert table[2].split() == ["0", "1", "1.235e5", "-0", "18446744073709551615", "line", "one\\nline", "1"], table
    assert table[3].split()[:3] == ["2", "3", "FAILED"], table
    assert table[3].index("FAILED") == table[0].index("zeta"), table
    html = next(h for h in outputs(c, "text/html") if "sluice-sweep" in h)
    nowrap = '<td style="white-space:nowrap">'
    assert f"{nowrap}line one\\nline 2</td>" in html and "\n" not in html, html
    assert f"{nowrap}18446744073709551615</td>" in html, html


def test_a_long_text_is_cut_in_the_table_and_whole_in_its_title(nb):
    _, kc, _ = nb
    ok(kc, "#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]\n"
           "pub struct Noted { pub value: f64, pub note: String }")
    c = run_cell(kc, "%%sweep k in [1, 2] -> noted --maximize value\n"
                     "Noted { value: k as f64, note: format!(\"<{k}> & a note far longer than a table cell shows, \\\"quoted\\\" at its end\") }",
                 timeout=TIMEOUT)
    assert c.status == "ok", c.error()
    whole = "<2> & a note far longer than a table cell shows, \"quoted\" at its end"
    table = table_of(c)
    # The text form: cut, ending in `…`, as before.
    assert whole[:39] + "…" in table, table
    assert "quoted" not in table, table
    html = next(h for h in outputs(c, "text/html") if "sluice-sweep" in h)
    escaped = whole.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    cut = whole[:39].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "…"
    assert f'<td style="white-space:nowrap" title="{escaped}">{cut}</td>' in html, html


def test_values_read_apart_and_wide_integers_exactly(nb):
    """Parameters and objectives that differ past four significant digits
    get the digits that tell them apart; integers wider than i64 read as
    the session wrote them, in the table and the live progress."""
    _, kc, _ = nb
    c = run_cell(kc, "%%sweep x in [u64::MAX, 1u64], y in [1.0001, 1.0002] -> apart --maximize value\n"
                     "1000000.0 + y * 0.001 + (x > 1) as u8 as f64 * 1e-7", timeout=TIMEOUT)
    assert c.status == "ok", c.error()
    table = table_of(c)
    assert "18446744073709551615" in table and "1.0001 " in table and "1.0002 " in table, table
    assert "1000000.0010002" in table and "1000000.0010001" in table, table
    assert "1.84467e19" not in table and "18446700000000000000" not in table, table
    progress = "\n".join(m["content"]["data"].get("text/plain", "") for m in c.outputs
                         if m["msg_type"] in ("display_data", "update_display_data"))
    assert "at x=18446744073709551615, y=1.0002 (configuration 1)" in progress, progress


def test_no_wait_then_wait_shows_the_table(nb):
    _, kc, _ = nb
    c = ok(kc, "%%sweep n in [3, 1, 2] -> later --no-wait --minimize value\nn * 2")
    assert "queued sweep `later`" in "\n".join(outputs(c, "text/plain"))
    w = ok(kc, "%slurm wait later")
    assert table_of(w).splitlines()[1].split()[:3] == ["*", "1", "1"]
    assert value(kc, "later_best") == "((1,), 2)"


@pytest.mark.parametrize("code, message", [
    ("%%sweep lr in []\nlr", "has no values"),
    ("%%sweep lr in [1], lr in [2]\nlr", "given twice"),
    ("%%sweep lr in [1, oops]\nlr", "not a number"),
    ("%%sweep lr in linspace(0, 1)\nlr", "three arguments"),
    ("%%sweep a in 0..1000, b in 0..1001\na + b", "sample it with --random"),
    ("%%sweep a in [1, 2], b in [1] --zip\na + b", "same number of values"),
    ("%%sweep a in [1, 2] --bogus\na", "--bogus"),
    ("%%sweep a in [1, 2]\n", "body is empty"),
])
def test_bad_sweeps_are_clear_errors(nb, code, message):
    _, kc, _ = nb
    c = run_cell(kc, code, timeout=TIMEOUT)
    assert c.status == "error"
    assert message in c.error()["evalue"] + "\n".join(c.error()["traceback"])
    assert value(kc, "1 + 1") == "2"


def test_objective_that_is_missing_or_not_a_number(nb):
    _, kc, _ = nb
    c = run_cell(kc, "%%sweep lr in [0.1] -> t1 --maximize acc\ntrain(lr, 32, 0)", timeout=TIMEOUT)
    assert c.status == "error"
    assert "no field `acc`" in c.error()["evalue"] and "accuracy" in c.error()["evalue"]
    # Said before anything ran: the fields come from the notebook's struct.
    assert "nothing was submitted" in c.error()["evalue"], c.error()
    c = run_cell(kc, "%%sweep lr in [0.1] -> t2 --maximize value\nformat!(\"{lr}\")", timeout=TIMEOUT)
    assert c.status == "error" and "not a number" in c.error()["evalue"]
    # results are still bound
    assert value(kc, "t2[0].1.clone()") == '"0.1"'


WORDS = """\
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Kind { Small, Big { n: u32 } }
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Worded { pub score: f64, pub kind: Kind, pub opt: Option<f64>, pub tag: Option<String> }"""


def test_enum_variants_and_none_read_as_words(nb):
    _, kc, _ = nb
    ok(kc, WORDS)
    c = run_cell(kc, "%%sweep k in [1, 2] -> worded --maximize score\n"
                     "Worded { score: k as f64, kind: if k == 1 { Kind::Small } else { Kind::Big { n: 7 } }, "
                     "opt: None, tag: if k == 1 { None } else { Some(\"x\".into()) } }",
                 timeout=TIMEOUT)
    table = table_of(c).splitlines()
    assert table[0].split() == ["#", "k", "score", "(max)", "kind", "opt", "tag"], table
    assert table[1].split() == ["*", "1", "2", "2", "Big", "{", "n:", "7", "}", "None", 'Some("x")'], table
    assert table[2].split() == ["0", "1", "1", "Small", "None", "None"], table


OUTCOMES = """\
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub enum Outcome { Converged(u64), Diverged { at: f64 }, Stalled }
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct Fit { pub loss: f64, pub outcome: Outcome, pub counts: std::collections::HashMap<String, u64>, pub note: Option<u8> }"""
FIT = ("Fit { loss: k as f64 + 0.5, outcome: match k { 0 => Outcome::Converged(7), "
       "1 => Outcome::Diverged { at: 2.5 }, _ => Outcome::Stalled }, "
       "counts: std::collections::HashMap::from([(\"Converged\".to_string(), 7u64)]), "
       "note: if k == 1 { None } else { Some(k as u8) } }")


def test_enum_fields_read_as_debug_writes_them(nb):
    """An enum field reads as `{:?}` prints it (not serde's
    `{"Converged": 7}` nor RON's `Diverged(at:2.5)`), in the text and HTML
    tables and the saved CSV; a map with one key still reads as a map."""
    _, kc, workdir = nb
    ok(kc, OUTCOMES)
    # k = 1 has a `None`, so its result crosses as RON; the others as JSON.
    c = ok(kc, "%%sweep k in [0, 1, 2] -> fits --minimize loss --save out/fits.csv\n" + FIT)
    table = table_of(c).splitlines()
    assert table[0].split() == ["#", "k", "loss", "(min)", "outcome", "counts", "note"], table
    expected = {"0": "Converged(7)", "1": "Diverged { at: 2.5 }", "2": "Stalled"}
    notes = {"0": "Some(0)", "1": "None", "2": "Some(2)"}
    for line in table[1:]:
        k = line.lstrip("* ").split()[0]
        assert expected[k] in line and '{"Converged": 7}' in line and notes[k] in line, table
    assert "{Converged: 7}" not in "\n".join(table) and "at:2.5" not in "\n".join(table), table
    html = next(h for h in outputs(c, "text/html") if "sluice-sweep" in h)
    for cell in [*expected.values(), "{&quot;Converged&quot;: 7}", "None", "Some(2)"]:
        assert f">{cell}</td>" in html, (cell, html)
    with open(workdir / "out" / "fits.csv") as f:
        rows = {r["k"]: r for r in csv.DictReader(f)}
    assert {k: r["outcome"] for k, r in rows.items()} == expected, rows
    assert all(r["counts"] == '{"Converged": 7}' for r in rows.values()), rows
    # The bound values are the notebook's own.
    assert value(kc, "fits.iter().map(|(_, f)| format!(\"{:?}\", f.outcome)).collect::<Vec<_>>().join(\"|\")") \
        == '"Converged(7)|Diverged { at: 2.5 }|Stalled"'


def test_a_sweep_body_keeps_its_columns_and_a_panics_first_line(nb):
    _, kc, _ = nb
    c = run_cell(kc, "%%sweep a in [1, 2], b in [3, 4] -> cols --maximize value\n"
                     "if a == 2 { panic!(\"config a={a} b={b} cannot work\\nsecond line\") }\n"
                     "(a + b) as f64",
                 timeout=TIMEOUT)
    table = table_of(c)
    assert "config a=2 b=3 cannot work" in table and "second line" not in table, table
    logs = run_cell(kc, "%slurm logs cols[2]", timeout=TIMEOUT)
    text = "".join(m["content"].get("text") or m["content"].get("data", {}).get("text/plain", "")
                   for m in logs.outputs) + str(c.error())
    # The panic is at the cell's own column (the `panic!` on line 2, col 13).
    assert "cell:2:13" in text, text
    e = run_cell(kc, "%%sweep a in [1, 2] -> badcol\nundefined_name + a", timeout=TIMEOUT)
    assert e.status == "error"
    assert "cell:2:1" in "\n".join(e.error()["traceback"]), e.error()


def test_result_fields_keep_their_words_and_maps_read_compactly(nb):
    """A char field that is a quote does not hide the other fields' words
    (`Some(())` is not NaN), and a map field reads as Debug writes it,
    with a few digits, not as JSON."""
    _, kc, _ = nb
    ok(kc, "use std::collections::BTreeMap;\n"
           "#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]\n"
           "pub struct Worded { pub score: f64, pub ch: char, pub unit: Option<()>, pub map: BTreeMap<String, f64> }")
    c = run_cell(kc, "%%sweep lr in [0.1, 0.7] -> worded --maximize score\n"
                     "Worded { score: lr, ch: '\"', unit: Some(()), map: BTreeMap::from([(\"k\".to_string(), lr / 3.0)]) }",
                 timeout=TIMEOUT)
    assert c.status == "ok", c.error()
    table = table_of(c)
    assert "Some(())" in table and "NaN" not in table, table
    assert '{"k": 0.2333}' in table and "0.23333" not in table, table


def test_a_result_struct_redefined_after_its_sweep(nb):
    """The sweep's waiting binds read into the struct as it was; a cell that
    then redefines the struct is not built together with them."""
    _, kc, _ = nb
    ok(kc, "#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]\npub struct Redefined { pub score: f64, pub a: u8 }")
    c = run_cell(kc, "%%sweep k in [1, 2] -> redo --maximize score\nRedefined { score: k as f64, a: 1 }", timeout=TIMEOUT)
    assert c.status == "ok", c.error()
    ok(kc, "#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]\npub struct Redefined { pub score: f64, pub b: String }")
    c = run_cell(kc, "%%sweep lr in [0.1, 0.7] -> redo2 --maximize score\nRedefined { score: lr, b: \"x\".into() }",
                 timeout=TIMEOUT)
    assert c.status == "ok", c.error()
    assert value(kc, "redo2_best.1.b.clone()") == '"x"'


def test_plots_tell_close_values_apart_and_fit_long_labels(nb):
    _, kc, _ = nb
    # Values differing in the fifth digit: distinct ticks, the objective's
    # labels read from an offset, every gridline inside the plot.
    c = ok(kc, "%%sweep x in [1.0001, 1.0002, 1.0003, 1.0004] -> close --maximize value\n"
               "1000000.0 + x * 0.001")
    svg = outputs(c, "image/svg+xml")[0]
    texts = svg_texts(svg)
    for label in ("1.0001", "1.0004", "1e-7", "4e-7", "+1000000.001"):
        assert label in texts, texts
    c = ok(kc, "%%sweep n in [1000000, 1000001, 1000002] -> near --maximize value\nn as f64")
    texts = svg_texts(outputs(c, "image/svg+xml")[0])
    assert "1000001" in texts and "1e6" not in texts, texts
    # Long text values cut from the middle, whole in a <title>.
    long = "a considerably longer configuration name that goes on"
    c = ok(kc, f'%%sweep name in ["short", "{long}", "<b>html</b> & stuff"], '
               "a_very_long_parameter_name_for_the_learning_rate in [0.1, 0.2] -> strs --maximize value\n"
               "name.len() as f64")
    svg = outputs(c, "image/svg+xml")[0]
    titles = ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}title")]
    assert long in titles and "<b>html</b> & stuff" in titles, titles
    assert "value (max) vs a_very_long_parameter_name_for_the_learning_rate" in titles, titles
    assert any(t.startswith("a ") and "…" in t and len(t) < 20 for t in svg_texts(svg)), svg_texts(svg)
    # An infinite objective is named under the plot, and is never the best
    # (a run that diverged): the ★, NAME_best and the progress agree.
    c = ok(kc, "%%sweep x in [0.5, 0.7, 1.0] -> infs --maximize value\n"
               "if x > 0.9 { f64::INFINITY } else { x }")
    texts = svg_texts(outputs(c, "image/svg+xml")[0])
    assert any("not finite" in t for t in texts) and any("2 (inf)" in t for t in texts), texts
    assert table_of(c).splitlines()[1].split()[:3] == ["*", "1", "0.7"], table_of(c)
    assert value(kc, "infs_best") == "((0.7,), 0.7)"


def test_a_new_kernel_reads_enum_fields_by_the_definitions_the_sweep_was_built_with(nb):
    """After a restart the notebook defines nothing, yet `%slurm load`'s
    table reads the enum field as `{:?}` prints it: by the definitions
    saved with the job. (Last in the file: it restarts the kernel.)"""
    km, kc, _ = nb
    ok(kc, OUTCOMES)
    ok(kc, "%%sweep k in [0, 1, 2] -> kept --minimize loss\n" + FIT)
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
    # `Fit` is not defined in the new session, so the bind fails; the table shows first.
    c = run_cell(kc, "%slurm load kept", timeout=TIMEOUT)
    table = table_of(c)
    for shown in ("Converged(7)", "Diverged { at: 2.5 }", "Stalled", '{"Converged": 7}', "Some(2)"):
        assert shown in table, (shown, table)
    assert "{Converged: 7}" not in table, table
