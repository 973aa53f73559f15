"""Notebooks executed the way CI users run them: `jupyter nbconvert --to
notebook --execute`, then their outputs checked cell by cell."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
JUPYTER = Path(sys.executable).parent / "jupyter"


def execute_notebook(name, tmp_path, timeout=900):
    out = tmp_path / name
    subprocess.run(
        [str(JUPYTER), "nbconvert", "--to", "notebook", "--execute",
         f"--ExecutePreprocessor.timeout={timeout}", str(REPO / "notebooks" / name),
         "--output", str(out)],
        check=True, cwd=tmp_path, env=dict(os.environ),
    )
    return json.loads(out.read_text())


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def text_of(output, mime="text/plain"):
    data = output.get("data", {}).get(mime, output.get("text", ""))
    return "".join(data) if isinstance(data, list) else data


def test_tour_notebook(tmp_path):
    cells = code_cells(execute_notebook("tour.ipynb", tmp_path))
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1))
    for c in cells:
        assert not [o for o in c["outputs"] if o["output_type"] == "error"], c
    # struct defined in one cell, used in the next ones
    assert text_of(cells[2]["outputs"][0]) == "5"
    assert "total = 55" in text_of(cells[3]["outputs"][0])
    assert text_of(cells[3]["outputs"][1]) == "11.0"
    # the :dep crate works
    assert text_of(cells[4]["outputs"][0]) == '"1234567"'
    # rich HTML is display_data
    html = [o for o in cells[5]["outputs"] if o["output_type"] == "display_data"]
    assert html and "<td>s5</td><td>25</td>" in text_of(html[0], "text/html")


def test_fan_out_fan_in_notebook(tmp_path):
    cells = code_cells(execute_notebook("fan_out_fan_in.ipynb", tmp_path))
    for c in cells:
        assert not [o for o in c["outputs"] if o["output_type"] == "error"], c
    by_source = {"".join(c["source"]).split("\n")[0]: c for c in cells}
    fan_out = by_source["%%slurm map chunks -> chunk_results --time 3 --mem 256M"]
    assert "bound `chunk_results: Vec<ChunkResult>` (5 items)" in "".join(text_of(o) for o in fan_out["outputs"])
    sums = next(c for c in cells if "".join(c["source"]).startswith("chunk_results.iter()"))
    assert text_of(sums["outputs"][0]) == "[(0, 4950), (1, 14950), (2, 24950), (3, 34950), (4, 44950)]"
    merged = next(c for c in cells if "".join(c["source"]).startswith("println!"))
    assert "5 chunks, 500 items, sum 124750" in text_of(merged["outputs"][0])


def test_pipeline_notebook(tmp_path):
    cells = code_cells(execute_notebook("pipeline.ipynb", tmp_path))
    for c in cells:
        assert not [o for o in c["outputs"] if o["output_type"] == "error"], c
    stage3 = next(c for c in cells if "".join(c["source"]) == "stage3")
    assert text_of(stage3["outputs"][0]) == (
        '["final_transform_0(preprocessed_data_1)", "final_transform_1(preprocessed_data_2)", '
        '"final_transform_2(preprocessed_data_3)"]'
    )
    total = next(c for c in cells if "".join(c["source"]).startswith("assert_eq!"))
    assert text_of(total["outputs"][0]) == "6"
