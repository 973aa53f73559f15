"""%slurm graph after a fan-out/fan-in, a 3-stage pipeline and a sweep in one
session: the SVG parsed, its nodes (name, kind, state) and edges (from, to,
dependency kind) checked, and the text and DOT forms."""

import re
import tempfile
import xml.etree.ElementTree as ET

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, run_cell

TIMEOUT = 600
SVG = "{http://www.w3.org/2000/svg}"

CELLS = [
    "let words: Vec<String> = vec![\"a\".into(), \"bb\".into(), \"ccc\".into()];",
    "%%slurm map words -> lengths\nfn length(w: String) -> usize { w.len() }",
    "%%slurm run -> total\nlengths.iter().sum::<usize>()",
    "%%slurm map 0..4 -> stage1 --no-wait\nfn s1(x: i64) -> i64 { x + 1 }",
    "%%slurm map stage1 -> stage2 --no-wait\nfn s2(x: i64) -> i64 { x * 2 }",
    "%%slurm map stage2 -> stage3\nfn s3(x: i64) -> i64 { x - 1 }",
    "%%sweep k in [1, 2, 3] -> tuning --maximize value\n(k * total as i64) as f64",
]


@pytest.fixture(scope="module")
def kc():
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT,
                              cwd=tempfile.mkdtemp(prefix="sluice-graph-"))
    try:
        for code in CELLS:
            c = run_cell(kc, code, timeout=TIMEOUT)
            assert c.status == "ok", (code, c.error())
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_graph_svg_has_the_jobs_and_their_dependencies(kc):
    c = run_cell(kc, "%slurm graph", timeout=TIMEOUT)
    assert c.status == "ok", c.error()
    data = c.of_type("display_data")[0]["content"]["data"]
    root = ET.fromstring(data["image/svg+xml"])
    nodes = {g.get("data-name"): (g.get("data-kind"), g.get("data-state"))
             for g in root.iter(f"{SVG}g") if g.get("class") == "node"}
    assert nodes == {
        "lengths": ("map", "COMPLETED"), "total": ("run", "COMPLETED"),
        "stage1": ("map", "COMPLETED"), "stage2": ("map", "COMPLETED"), "stage3": ("map", "COMPLETED"),
        "tuning": ("sweep", "COMPLETED"),
    }
    edges = {(g.get("data-from"), g.get("data-to"), g.get("data-kind"))
             for g in root.iter(f"{SVG}g") if g.get("class") == "edge"}
    # the sweep body uses `total`, a run job's result: a notebook variable, no job dependency
    assert edges == {
        ("lengths", "total", "afterok"),
        ("stage1", "stage2", "aftercorr"),
        ("stage2", "stage3", "aftercorr"),
    }
    # element-wise edges are drawn dashed and say so
    for g in root.iter(f"{SVG}g"):
        if g.get("data-kind") == "aftercorr":
            assert g.find(f"{SVG}line").get("stroke-dasharray")
            assert "element-wise" in "".join(g.itertext())
    # the pipeline is laid out left to right: stage1 < stage2 < stage3
    x = {g.get("data-name"): float(g.find(f"{SVG}rect").get("x"))
         for g in root.iter(f"{SVG}g") if g.get("class") == "node"}
    assert x["stage1"] < x["stage2"] < x["stage3"] and x["lengths"] < x["total"]
    text = data["text/plain"]
    assert "stage3 [map] COMPLETED 4/4 done  <- aftercorr (element-wise) stage2" in text


def test_graph_dot(kc):
    c = run_cell(kc, "%slurm graph --dot", timeout=TIMEOUT)
    assert c.status == "ok", c.error()
    dot = c.of_type("display_data")[0]["content"]["data"]["text/plain"]
    assert dot.startswith("digraph {")
    # petgraph numbers the nodes; each label starts with the job's name
    names = dict(re.findall(r'^\s*(\d+) \[ label = "([^"\\]+)\\l', dot, re.M))
    edges = {(names[a], names[b], label, rest.strip())
             for a, b, label, rest in re.findall(r'^\s*(\d+) -> (\d+) \[ label = "([^"]*)"(.*)\]$', dot, re.M)}
    assert ("lengths", "total", "afterok", "") in edges
    assert ("stage1", "stage2", "aftercorr (element-wise)", "style = dashed") in edges
