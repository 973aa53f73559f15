"""The Rust translator sluice ships for papermill (install/papermill_rust):
registered through its entry point, and each Python value becomes a typed
Rust `let` that compiles in the real kernel."""

import pytest
from papermill.exceptions import PapermillException
from papermill.translators import translate_parameters

from conftest import run_cell


def codify(params):
    return translate_parameters("sluice", "rust", params, "Parameters")


def test_registered_for_the_language_and_the_kernel():
    assert codify({"lr": 0.01}) == "// Parameters\nlet lr: f64 = 0.01;\n"
    assert translate_parameters("any-kernel", "Rust", {"n": 3}, "P") == "// P\nlet n: i64 = 3;\n"


def test_literal_types():
    code = codify({
        "epochs": 20, "lr": 1e-7, "name": 'run "a"\n\\', "verbose": False,
        "sizes": [32, 64], "mixed": [1, 2.5], "tags": ["x", "y"], "grid": [[1, 2], [3]],
        "limits": {"a": 1, "b": 2}, "type": 1,
    })
    assert "let epochs: i64 = 20;" in code
    assert "let lr: f64 = 1e-07;" in code
    assert 'let name: String = String::from("run \\"a\\"\\n\\\\");' in code
    assert "let verbose: bool = false;" in code
    assert "let sizes: Vec<i64> = vec![32, 64];" in code
    assert "let mixed: Vec<f64> = vec![1.0, 2.5];" in code
    assert 'let tags: Vec<String> = vec![String::from("x"), String::from("y")];' in code
    assert "let grid: Vec<Vec<i64>> = vec![vec![1, 2], vec![3]];" in code
    assert "BTreeMap<String, i64> = std::collections::BTreeMap::from([" in code
    assert "let r#type: i64 = 1;" in code


@pytest.mark.parametrize("bad", [{"x": None}, {"x": []}, {"x": [1, "a"]}, {"bad-name": 1}, {"x": 2**70}])
def test_values_without_a_rust_type_are_refused(bad):
    with pytest.raises(PapermillException):
        codify(bad)


def test_the_injected_cell_compiles_in_the_kernel(kernel):
    _, kc = kernel
    code = codify({"epochs": 20, "lr": 0.5, "name": "a\tb", "sizes": [1, 2], "ok": True,
                   "limits": {"a": 1.5}})
    c = run_cell(kc, code)
    assert c.status == "ok", c.error()
    c = run_cell(kc, 'format!("{epochs} {lr} {name:?} {sizes:?} {ok} {limits:?}")')
    assert c.status == "ok", c.error()
    out = c.of_type("execute_result")[0]["content"]["data"]["text/plain"]
    assert out == '"20 0.5 \\"a\\\\tb\\" [1, 2] true {\\"a\\": 1.5}"'


def test_help_notebook_lists_the_parameters_with_their_types(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path
    nb = {
        "cells": [{"cell_type": "code", "id": "parameters", "metadata": {"tags": ["parameters"]}, "execution_count": None,
                   "outputs": [], "source": "let lr: f64 = 0.1; // learning rate\nlet mut sizes: Vec<i64> = vec![\n    32, 64,\n];\nlet name = String::from(\"a;b\");\n"}],
        "metadata": {"kernelspec": {"name": "sluice", "language": "rust", "display_name": "Rust (sluice)"},
                     "language_info": {"name": "rust"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path = tmp_path / "p.ipynb"
    path.write_text(json.dumps(nb))
    papermill = str(Path(sys.executable).with_name("papermill"))
    out = subprocess.run([papermill, "--help-notebook", str(path)], capture_output=True, text=True, check=True).stdout
    assert "lr: f64 (default 0.1)" in out and "learning rate" in out, out
    assert "sizes: Vec<i64> (default vec![ 32, 64, ])" in out, out
    assert "name: Unknown type" in out, out
    # papermill warns of "unknown" parameters against what inspection found.
    from papermill.inspection import _infer_parameters
    import nbformat
    found = {p.name for p in _infer_parameters(nbformat.read(str(path), as_version=4))}
    assert found == {"lr", "sizes", "name"}, found
