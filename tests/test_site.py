"""`make site`: every lesson executed and rendered to static HTML with its figures, each page opened from disk in
headless Chromium (its sliders, its formulas, no request off the machine) and checked by axe-core against the
WCAG 2.1 A and AA rules.  (The lessons in JupyterLab: tests/test_browser.py.)"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_support import LESSONS, ROOT, code_cells, expected_live_figures, wait_for

from course_lib.figures.alt_text import UNTITLED

PAGE_BUDGET = 4 * 2 ** 20      # bytes: a lesson page with every frame of its live figures (README)


@pytest.fixture(scope="module")
def site(run_model_cache, tmp_path_factory):
    """`make site`'s builder run once, in fast mode, into a temporary folder: every notebook runs top to bottom
    and trains its fast-mode models in the run's model cache.  One lesson at a time (--jobs 1): the other worker
    is timing sliders in JupyterLab meanwhile."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, COURSE_LIB_FAST="1", COURSE_LIB_CACHE=run_model_cache)
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out), "--jobs", "1"],
                         env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return out


def test_make_site_renders_every_lesson_with_its_figures(site):
    out = site
    index = (out / "index.html").read_text()
    for path in [ROOT / "notebooks" / name for name in LESSONS]:
        page = out / f"{path.stem}.html"
        assert page.is_file(), f"no page for {path.name}"
        assert f'href="{path.stem}.html"' in index
        text = page.read_text()
        live = expected_live_figures(path.name)
        static = sum(bool(re.search(r"plt\.(subplots|figure)\(", source)) for source in code_cells(path))
        figures = text.count('class="course-static-figure"')
        pictures = text.count("data:image/png;base64,")
        assert figures == live, f"{path.name}: {figures} live figures on the page for {live} in the lesson"
        assert pictures >= figures + static, f"{path.name}: {pictures} pictures, expected at least {figures + static}"
        assert "Read-only rendering" in text and "Traceback" not in text
        assert 'executeResult" data-mime-type="text/plain"' not in text, \
            f"{path.name}: a cell ends on an expression whose repr lands on the page (end that line with ';')"
        assert not re.search(r'<(script|link|img)[^>]*(src|href)="https?:', text), f"{path.name} fetches from the web"
        assert page.stat().st_size <= PAGE_BUDGET, f"{path.name}: {page.stat().st_size} bytes, over the page budget"
    assert sorted(p.name for p in out.iterdir()) == sorted(["assets", "index.html"] +
                                                          [f"{Path(n).stem}.html" for n in LESSONS])
    assert (out / "assets" / "katex" / "katex.min.js").is_file()


def test_every_site_page_works_from_disk_sliders_formulas_and_no_outside_request(browser, site):
    """Each page opened as a file: every slider of every live figure switches its picture, the
    formulas are typeset (KaTeX, from the page's own folder), and no request leaves the machine."""
    problems, sizes = [], {}
    for name in LESSONS:
        path = site / f"{Path(name).stem}.html"
        sizes[name] = path.stat().st_size
        context = browser.new_context()
        page = context.new_page()
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function("document.readyState === 'complete'")
        markdown = "\n".join("".join(c["source"]) for c in json.loads((ROOT / "notebooks" / name).read_text())["cells"]
                             if c["cell_type"] == "markdown")
        if "$" in markdown:
            wait_for(lambda: page.locator(".katex").count() > 0, 30, f"{name}: formulas typeset")
            raw = page.evaluate("Array.from(document.querySelectorAll('.jp-MarkdownCell'))"
                                ".map(e => e.innerText).join('\\n')")
            if "$$" in raw:
                problems.append(f"{name}: a formula left as raw $$")
        for figure in page.locator(".course-static-figure").all():
            image = figure.locator("img")
            for slider in figure.locator("input[type=range]").all():
                before = image.get_attribute("src")
                slider.focus()
                at_end = slider.evaluate("e => e.value === e.max")
                page.keyboard.press("Home" if at_end else "End")
                if image.get_attribute("src") == before:
                    problems.append(f"{name}: moving {slider.get_attribute('aria-label')} left the picture as it was")
        if outside:
            problems.append(f"{name}: requests off the machine: {outside[:3]}")
        context.close()
    print("site page sizes (KiB): " + ", ".join(f"{n[:3]} {s // 1024}" for n, s in sizes.items()))
    assert not problems, problems


# axe-core's rules for WCAG 2.0 and 2.1, levels A and AA (the tags axe gives them).
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
           "resultTypes": ["violations"]}
NO_ALT = ("", "live figure", UNTITLED, "No description has been provided for this image")   # the placeholders


def test_every_site_page_passes_the_wcag_aa_rules_and_every_figure_says_what_it_shows(browser, site):
    """axe-core (the copy that axe-playwright-python ships) on every page opened from disk: no serious or
    critical violation of the WCAG 2.1 A and AA rules; and every picture's alternative text is the
    figure's own title and axes (course_lib.figures.alt_text), never a placeholder."""
    axe, problems, pages = Axe(), [], sorted(site.glob("*.html"))
    assert len(pages) == len(LESSONS) + 1
    for path in pages:
        page = browser.new_page()
        page.goto(path.as_uri(), wait_until="load")
        found = axe.run(page, options=WCAG_AA).response["violations"]
        problems += [f"{path.name}: {v['id']} ({v['impact']}, {len(v['nodes'])} elements: {v['help']}), first: "
                     f"{v['nodes'][0]['html'][:120]}" for v in found if v["impact"] in ("serious", "critical")]
        for alt in page.eval_on_selector_all("img", "images => images.map(i => i.getAttribute('alt') || '')"):
            if alt.strip() in NO_ALT or alt.startswith(f"{UNTITLED}. A live figure"):
                problems.append(f"{path.name}: a picture whose alternative text says nothing of it: {alt!r}")
        page.close()
    assert not problems, "\n".join(problems)


def test_a_lesson_that_fails_to_run_is_named_in_one_line_and_leaves_no_page(tmp_path):
    broken = tmp_path / "99_broken.ipynb"
    broken.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "1 / 0", "metadata": {},
                                             "outputs": [], "execution_count": None}],
                                  "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    out = tmp_path / "site"
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out), str(broken)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1].startswith("make site failed: CellExecutionError")
    assert not list(out.glob("*.html")) and not list(out.glob("*.tmp"))


def test_make_site_uses_full_mode_where_the_trained_models_are_at_hand(tmp_path):
    """--mode auto: a lesson whose full-mode models are in the cache is rendered in full mode; one that
    would have to train is rendered in fast mode; each page's banner (and the index) says which."""
    lesson = ("import torch, course_lib as cl\n"
              "x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))\n"
              "model, _ = cl.cached_fit('site-demo', {'n': 64}, lambda: cl.VAE.mlp(latent_dim=2, hidden=(8,)),\n"
              "                         lambda m: cl.fit(m, x, steps=cl.budget(full=6, fast=3), progress=False))\n"
              "print('fast' if cl.fast_mode() else 'full')")
    notebook = tmp_path / "01_demo.ipynb"
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "source": lesson, "metadata": {}, "outputs": [],
                                               "execution_count": None}],
                                    "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    cache = tmp_path / "cache"

    def build():
        out = tmp_path / "site"
        run = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out), "--mode",
                              "auto", "--jobs", "1", str(notebook)], capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, COURSE_LIB_CACHE=str(cache)))
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        return (out / "01_demo.html").read_text(), (out / "index.html").read_text()

    page, index = build()                                  # nothing trained yet: fast mode
    assert "executed in fast mode" in page and "(fast mode)" in index
    trained = subprocess.run([sys.executable, "-c", lesson], capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, COURSE_LIB_CACHE=str(cache), COURSE_LIB_FAST="0"))
    assert trained.returncode == 0 and trained.stdout.strip() == "full", trained.stderr[-2000:]
    page, index = build()                                  # the full-mode model is cached: full mode
    assert "executed in full mode" in page and "(full mode)" in index
