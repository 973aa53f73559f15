"""What a person sees: the sweep and pipeline notebooks executed by the real
kernel, exported by nbconvert's `lab` template in the light and the dark
theme, opened in headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium), photographed into `out/browser/`,
and checked from the DOM. High contrast is the light export seen with
`forced-colors: active` (emulated through the DevTools protocol's
`Emulation.setEmulatedMedia`), as Windows' contrast themes show pages:
JupyterLab has no high-contrast theme of its own.

- no SVG text overflows its picture or hides under a shape drawn after it
  (SVG outputs are `<img>`s, as in JupyterLab: each is parsed again into the
  page to be measured);
- every output's text contrasts with its effective background (the
  backgrounds of it and its ancestors, composited) at 4.5:1 or more, the
  WCAG AA ratio for body text; so does the text of a picture drawn on its
  own paper (the Gantt chart of `%slurm report`, added to the pipeline
  notebook, the parallel coordinates, the graph) against that paper, in
  the high-contrast view too;
- no output holds a raw JSON blob.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
JUPYTER = Path(sys.executable).parent / "jupyter"
OUT = REPO / "out" / "browser"
NOTEBOOKS = ["parameter_sweep.ipynb", "pipeline.ipynb"]
THEMES = ["light", "dark"]
#: What each view is: the export's theme, and whether colours are forced.
VIEWS = {"light": ("light", False), "dark": ("dark", False), "high-contrast": ("light", True)}
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (tests/run.sh installs them)",
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{(notebook, theme): html path}: each notebook executed once, exported
    in both themes."""
    OUT.mkdir(parents=True, exist_ok=True)
    pages = {}
    for name in NOTEBOOKS:
        work = tmp_path_factory.mktemp(name.split(".")[0])
        executed = work / name
        source = work / f"source-{name}"
        notebook = json.loads((REPO / "notebooks" / name).read_text())
        if name == "pipeline.ipynb" and not any("".join(c["source"]).startswith("%slurm report")
                                                for c in notebook["cells"]):
            # The workflow's Gantt chart: its text must read in every view.
            notebook["cells"].append({"cell_type": "code", "execution_count": None, "id": "browser-report",
                                      "metadata": {}, "outputs": [], "source": ["%slurm report"]})
        if not any("".join(c["source"]).startswith("%slurm graph") for c in notebook["cells"]):
            # The workflow graph too, with its edge labels (aftercorr).
            notebook["cells"].append({"cell_type": "code", "execution_count": None, "id": "browser-graph",
                                      "metadata": {}, "outputs": [], "source": ["%slurm graph"]})
        source.write_text(json.dumps(notebook))
        subprocess.run(
            [str(JUPYTER), "nbconvert", "--to", "notebook", "--execute",
             "--ExecutePreprocessor.timeout=900", str(source),
             "--output", str(executed)],
            check=True, cwd=work, env=dict(os.environ, SLUICE_WORKDIR=str(work)),
        )
        for theme in THEMES:
            stem = f"{name.split('.')[0]}-{theme}"
            subprocess.run(
                [str(JUPYTER), "nbconvert", "--to", "html", "--template", "lab",
                 "--theme", theme, str(executed), "--output-dir", str(OUT), "--output", stem],
                check=True, cwd=work,
            )
            pages[(name, theme)] = OUT / f"{stem}.html"
    return pages


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                "--disable-dev-shm-usage"]:
        opts.add_argument(arg)
    opts.page_load_strategy = "eager"
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


# The DOM checks, run in the page. Colours are parsed from computed styles
# (`rgb(...)` / `rgba(...)`); a background is composited over the ones
# below it down to the first opaque one (the canvas, white, if none is).
CHECKS = r"""
const parse = (s) => {
  const m = s.match(/rgba?\(([^)]+)\)/);
  if (!m) return [0, 0, 0, 0];
  const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (top, below) => {
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + below[i] * (1 - a)).concat([1]);
};
const background = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let bg = [255, 255, 255, 1];
  for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
  return bg;
};
const lum = (c) => {
  const ch = c.slice(0, 3).map(v => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
};
const ratio = (a, b) => {
  const [x, y] = [lum(a), lum(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
};
const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
const problems = {contrast: [], overflow: [], covered: [], json: []};
let svgCount = 0;
const short = (s) => s.replace(/\s+/g, ' ').trim().slice(0, 80);
for (const out of outputs) {
  for (const el of [out, ...out.querySelectorAll('*')]) {
    if (el.closest('svg')) continue;
    const own = [...el.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim()).map(n => n.textContent).join(' ');
    if (!own) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const bg = background(el);
    const fg = over(parse(getComputedStyle(el).color), bg);
    const k = ratio(fg, bg);
    if (k < 4.5) problems.contrast.push(`${k.toFixed(2)}: <${el.tagName.toLowerCase()}> "${short(own)}" fg=${fg.slice(0,3).map(Math.round)} bg=${bg.slice(0,3).map(Math.round)}`);
  }
  const text = out.innerText || '';
  const blob = text.match(/[\[{]\s*"[A-Za-z_][\w]*"\s*:\s*[^\s]/);
  if (blob) problems.json.push(short(text.slice(Math.max(0, blob.index - 20), blob.index + 60)));
  // Front ends show SVG outputs as <img> (no page CSS reaches them): each
  // is parsed again into a scratch element of the page to be measured.
  const pictures = [...out.querySelectorAll('svg')];
  for (const img of out.querySelectorAll('img[src^="data:image/svg+xml"]')) {
    const data = img.src.slice(img.src.indexOf(',') + 1);
    const text = img.src.includes(';base64,')
      ? new TextDecoder().decode(Uint8Array.from(atob(data), c => c.charCodeAt(0)))
      : decodeURIComponent(data);
    const scratch = document.createElement('div');
    scratch.style.cssText = 'position:absolute;left:0;top:0;visibility:hidden';
    scratch.innerHTML = text;
    document.body.appendChild(scratch);
    const svg = scratch.querySelector('svg');
    if (svg) pictures.push(svg);
  }
  svgCount += pictures.length;
  for (const svg of pictures) {
    const box = svg.getBoundingClientRect();
    // A picture on its own paper: every text's fill against that paper
    // (as drawn in this view: with forced colours, unless the picture
    // opts out, the browser may repaint either).
    const paper = svg.querySelector('rect.paper');
    if (paper) {
      const bg = parse(getComputedStyle(paper).fill);
      for (const t of svg.querySelectorAll('text')) {
        if (!t.textContent.trim()) continue;
        const fg = over(parse(getComputedStyle(t).fill), bg);
        const k = ratio(fg, bg);
        if (k < 4.5) problems.contrast.push(`${k.toFixed(2)}: <svg.${svg.getAttribute('class')} text> "${short(t.textContent)}" fill=${fg.slice(0,3).map(Math.round)} paper=${bg.slice(0,3).map(Math.round)}`);
      }
    }
    if (svg.classList.contains('sluice-gantt')) {
      problems.gantt = (problems.gantt || 0) + 1;
      // Without its own paper its text would follow the page (dark or forced).
      if (!paper) problems.contrast.push('a Gantt chart without its own paper');
    }
    const shapes = [...svg.querySelectorAll('rect')].filter(s => {
      const f = getComputedStyle(s).fill;
      return f && f !== 'none' && parse(f)[3] > 0;
    });
    const all = [...svg.querySelectorAll('*')];
    for (const t of svg.querySelectorAll('text')) {
      if (!t.textContent.trim()) continue;
      const r = t.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        problems.overflow.push(`"${short(t.textContent)}" [${Math.round(r.left - box.left)}, ${Math.round(r.right - box.left)}] outside 0..${Math.round(box.width)}`);
      const at = all.indexOf(t);
      for (const s of shapes) {
        if (all.indexOf(s) < at) continue;
        const q = s.getBoundingClientRect();
        const w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
        const h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
        if (w > 2 && h > 2) { problems.covered.push(`"${short(t.textContent)}" under a <rect> drawn after it`); break; }
      }
    }
  }
}
return {outputs: outputs.length, svgs: svgCount, ...problems};
"""


# With forced colours, what carries meaning by colour alone must keep it:
# swatches and progress bar segments (no text; `forced-color-adjust: none`)
# still differ from the page's background.
FORCED_CHECKS = r"""
const lost = [];
const marked = [...document.querySelectorAll('.jp-OutputArea-output [data-sluice-colour]')];
// The colour forced backgrounds get: the system colour Canvas.
const probe = document.createElement('div');
probe.style.background = 'Canvas';
document.body.appendChild(probe);
const canvas = getComputedStyle(probe).backgroundColor;
probe.remove();
for (const el of marked) {
  const bg = getComputedStyle(el).backgroundColor;
  const r = el.getBoundingClientRect();
  if (r.width > 0 && (bg === canvas || bg === 'rgba(0, 0, 0, 0)')) lost.push(el.outerHTML.slice(0, 120));
}
return {marked: marked.length, lost: lost};
"""


def look(driver, page, shot, forced=False):
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "forced-colors", "value": "active" if forced else "none"}]})
    driver.get(page.as_uri())
    # Pictures are <img>s: the page's height is known once they are decoded.
    for _ in range(100):
        if driver.execute_script("return [...document.images].every(i => i.complete)"):
            break
        time.sleep(0.1)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    # The window's height includes the browser's frame: add it, so the
    # whole page is in the picture.
    frame = driver.execute_script("return window.outerHeight - window.innerHeight")
    driver.set_window_size(1280, min(max(int(height) + int(frame) + 20, 900), 16000))
    driver.save_screenshot(str(shot))
    found = driver.execute_script(CHECKS)
    found["forced"] = driver.execute_script(FORCED_CHECKS) if forced else {"marked": 0, "lost": []}
    return found


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_outputs_read_well(exported, browser, name, view):
    theme, forced = VIEWS[view]
    page = exported[(name, theme)]
    stem = f"{name.split('.')[0]}-{view}"
    shot = OUT / f"{stem}.png"
    found = look(browser, page, shot, forced)
    (OUT / f"{stem}.json").write_text(json.dumps(found, indent=1))
    assert found["outputs"] > 3, found
    # The sweep: its plot, parallel coordinates, the graph; the pipeline: the graph.
    assert found["svgs"] >= (3 if name == "parameter_sweep.ipynb" else 1), found
    if name == "pipeline.ipynb":
        # The Gantt chart, its text checked against its paper above.
        assert found.get("gantt", 0) >= 1, found
    assert found["overflow"] == [], found["overflow"]
    assert found["covered"] == [], found["covered"]
    assert found["contrast"] == [], found["contrast"]
    assert found["json"] == [], found["json"]
    if forced:
        # Progress bars and swatches are on every page; none lost its colour.
        assert found["forced"]["marked"] > 0, found["forced"]
    assert found["forced"]["lost"] == [], found["forced"]
