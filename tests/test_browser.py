"""The lessons as a reader meets them: in JupyterLab in a real browser, and as the static site.

(The two share this file so that pytest-xdist runs them on one worker, one after the other:
both start Jupyter kernels for every lesson, and side by side on two cores they took four
times as long.)

In a real browser: JupyterLab + headless Chromium, driven by Playwright.

For each lesson: open it, run all cells, check that no cell shows an error and
no widget failed to render, then move every slider of every live figure and
check that its figure changes.  Every lesson but lesson 1 runs in full mode on
the shipped models with strict claims (conftest.py, LAB_FAST_MODE): what a learner
gets, and a claim that its numbers contradict is an error in its cell.  Uses Debian's Chromium at /usr/bin/chromium
(never a downloaded browser).  Skipped with a message when it is missing,
except in CI, where .ci/run installs it and its absence is a failure.

Deterministic from a cold start: the test starts each lesson's kernel through
the server's REST API and waits for its first reply before the page opens, so
JupyterLab connects to a running kernel and never has to choose one.  There
are no retries: a dialog, or a click that runs nothing, is a failure.
"""
import json
import os
import queue
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from course_lib.figures.alt_text import UNTITLED

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
KERNEL = "python3"       # the kernel every notebook names in its metadata: the lab's own mode, fast
FULL_KERNEL = "course-full-mode"        # the same Python, in full mode on the shipped models with strict claims
FULL_MODE = {"COURSE_LIB_FAST": "0", "COURSE_LIB_CACHED_ONLY": "1", "COURSE_LIB_STRICT_CLAIMS": "1"}
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
SETTINGS = {  # fully rendered notebooks: every cell in the DOM (the news prompt is off by make lab's settings)
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
LAB_SETTINGS = re.search(r"^LAB_SETTINGS := (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1).replace(
    "$(CURDIR)", str(ROOT))                              # the very setting `make lab` passes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}; install Debian's package 'chromium' to run the browser test"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must have it: .ci/run installs it)")
        pytest.skip(message)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, run_model_cache):
    """JupyterLab on 127.0.0.1, serving a temporary copy of the notebooks.  Its kernels use the run's
    model cache (conftest.py): a lesson whose models nbval trained first loads them, and the other
    way round."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    settings = work / "settings"
    for name, value in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port = free_port()
    full = work / "data" / "kernels" / FULL_KERNEL         # a kernel spec that sets full mode for its kernels
    full.mkdir(parents=True)
    full.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (full mode, shipped models)", "language": "python", "env": FULL_MODE}))
    env = dict(os.environ, COURSE_LIB_FAST="1", COURSE_LIB_CACHE=run_model_cache,
               JUPYTER_CONFIG_DIR=str(work / "config"), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
               JUPYTER_DATA_DIR=str(work / "data"), JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"))
    with open(work / "lab.log", "w") as log:   # closed when the server has stopped
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
             f"--ServerApp.root_dir={work}",
             f"--LabApp.user_settings_dir={settings}", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             LAB_SETTINGS,
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/api", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            proc.kill()
            pytest.fail("JupyterLab did not start in 60 s:\n" + (work / "lab.log").read_text()[-3000:])
        if proc.poll() is not None:
            pytest.fail("JupyterLab exited:\n" + (work / "lab.log").read_text()[-3000:])
        specs = api(url, "GET", "/api/kernelspecs")        # the server has found the course's kernel
        if not {KERNEL, FULL_KERNEL} <= set(specs["kernelspecs"]):
            proc.kill()
            pytest.fail(f"JupyterLab lacks the {KERNEL!r} or {FULL_KERNEL!r} kernel; it has {sorted(specs['kernelspecs'])}")
        yield url, work
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def api(url, method, path, body=None, timeout=30):
    """One call of the Jupyter server's REST API; returns the decoded JSON (or None)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read()
    return json.loads(text) if text else None


def start_kernel_session(url, work, lesson, kernel=KERNEL, timeout=180):
    """Start the lesson's kernel *before* the page opens, and wait until it answers.

    JupyterLab then finds a session for the notebook and connects to it, instead of
    choosing a kernel itself: on a cold machine (kernel specs still loading, a slow
    first kernel start) that choice is what used to show the "Select Kernel" dialog.

    The wait is for the reply to one kernel_info request, however long the first
    start takes (imports, font caches).  It does not use jupyter_client's
    ``wait_for_ready``: that declares the kernel dead when its heartbeat has not
    answered yet, which on a cold machine is merely slow.  A kernel that really
    died shows as "dead" in the server's REST API, and fails the test at once.
    """
    session = api(url, "POST", "/api/sessions", {
        "path": f"notebooks/{lesson}", "type": "notebook", "name": lesson, "kernel": {"name": kernel}})
    kernel_id = session["kernel"]["id"]
    from jupyter_client import BlockingKernelClient
    client = BlockingKernelClient(connection_file=str(work / "runtime" / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels(hb=False)
    try:
        request = client.kernel_info()            # queued by ZeroMQ until the kernel binds its socket
        end = time.time() + timeout
        while True:
            try:
                reply = client.get_shell_msg(timeout=1)
                if reply["parent_header"].get("msg_id") == request:
                    return session
            except queue.Empty:
                state = api(url, "GET", f"/api/kernels/{kernel_id}")["execution_state"]
                assert state != "dead", f"{lesson}: the kernel died while starting"
                assert time.time() < end, f"{lesson}: the kernel did not answer within {timeout} s (state {state})"
    finally:
        client.stop_channels()


def expected_live_figures(lesson):
    """How many code cells of the lesson build an explorer (a LiveFigure).  A slider over reference
    models (``median_explorer("<recipe>", over)``) is there only when the course ships one of that recipe's
    median models."""
    from course_lib.reference import views
    count = 0
    for source in code_cells(ROOT / "notebooks" / lesson):
        over_reference = re.search(r'median_explorer\("([^"]+)"(?:, "(\w+)")?', source)
        if "_explorer(" in source and not (over_reference and not views.median_models(
                over_reference.group(1), over_reference.group(2) or "beta")):
            count += 1
    return count


def wait_for(predicate, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_make_lab_asks_no_news_question(lab):
    """`make lab` passes the course's own settings folder (tools/lab-settings), which turns the news
    prompt off: the server, started with that argument, says so for a learner with no settings."""
    url, _ = lab
    notification = api(url, "GET", "/lab/api/settings/@jupyterlab/apputils-extension:notification")
    defaults = notification["schema"]["properties"]                  # overrides.json sets the defaults
    assert defaults["fetchNews"]["default"] == "false" and defaults["checkForUpdates"]["default"] is False
    assert "fetchNews" not in notification["settings"]              # and nothing of the learner's is needed


@pytest.mark.parametrize("lesson", LESSONS[::-1])
def test_lesson_runs_and_every_slider_redraws_its_figure(browser, lab, lesson, lab_fast_mode, tmp_path, record_property):
    url, work = lab
    mode = "fast" if lesson in lab_fast_mode else "full"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    shots = Path(os.environ.get("COURSE_BROWSER_SHOTS", tmp_path))
    try:
        panel = run_all_in_lab(page, url, work, lesson, KERNEL if mode == "fast" else FULL_KERNEL)
        assert panel.get_by_text("Error displaying widget").count() == 0, f"{lesson}: a widget failed to render"
        if mode == "full":            # strict claims: one that fails raises in its cell, and shows above as an error
            shown = "\n".join(panel.locator(".jp-OutputArea-output").all_inner_texts()).splitlines()
            claims = [line for line in shown if line.startswith(("✓ ", "✗ "))]
            assert claims, f"{lesson} reads its results without a single cl.claim"
            assert all(line.startswith("✓") for line in claims), [line for line in claims if line.startswith("✗")]

        figures = panel.locator(".course-live-figure")
        assert figures.count() == expected_live_figures(lesson), f"{lesson}: not every live figure rendered"
        latencies, misses = [], []
        for i in range(figures.count()):
            figure = figures.nth(i)
            figure.scroll_into_view_if_needed()
            handles = figure.locator(".noUi-handle")
            assert handles.count() >= 1
            for j in range(handles.count()):
                image = figure.locator("img").first
                before = image.get_attribute("src")
                handles.nth(j).focus()
                for _ in range(3):
                    handles.nth(j).press("ArrowRight")
                wait_for(lambda: image.get_attribute("src") != before, 15,
                         f"figure {i} of {lesson} to change after moving slider {j}")
                # A slider that trains a model on its first visit to a value (by design: a progress bar shows
                # the training) is timed apart: its first visits measure training, not drawing.
                trains = "train " if "course-live-figure-trains" in (figure.get_attribute("class") or "") else ""
                times, missed = timed_moves(page, figure, handles.nth(j), [("Home", None), ("ArrowRight", trains + "step"),
                                                                           ("End", trains + "jump")])
                latencies += [(ms, kind, f"figure {i}, slider {j}") for ms, kind in times]
                misses += [f"figure {i}, slider {j}: {miss}" for miss in missed]
        assert not misses, f"{lesson}: a slider move drew no new picture:\n" + "\n".join(misses)
        assert panel.get_by_text("Error displaying widget").count() == 0
        if latencies:
            record_property("slider latency", f"{mode} mode: {latency_line(latencies)}")   # conftest.py prints it
        if "COURSE_BROWSER_SHOTS" in os.environ:          # a full-page picture of a long lesson costs seconds
            page.screenshot(path=str(shots / f"{lesson}.png"), full_page=True)
    except BaseException:
        page.screenshot(path=str(shots / f"{lesson}-failed.png"), full_page=True)
        raise
    finally:
        page.close()
        shutdown_kernels(url)


def run_all_in_lab(page, url, work, notebook, kernel):
    """Open ``notebooks/<notebook>`` in JupyterLab on a kernel of ``kernel`` started for it, run all its cells
    from the Run menu, and wait until every one has run.  A cell that shows an error fails at once, with the
    error.  -> the notebook's panel"""
    start_kernel_session(url, work, notebook, kernel=kernel)
    workspace = notebook.replace(".ipynb", "").replace("_", "-")          # a fresh workspace: only this tab
    page.goto(f"{url}/lab/workspaces/{workspace}/tree/notebooks/{notebook}")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Cell").first.wait_for(timeout=60_000)
    # Connected to the running kernel: its name in the toolbar, and the indicator idle.
    panel.locator(".jp-KernelName", has_text="Python 3").first.wait_for(timeout=60_000)
    indicator = panel.locator(".jp-Notebook-ExecutionIndicator").first
    wait_for(lambda: indicator.get_attribute("data-status") == "idle", 60, "the page to connect to the kernel")
    n_code = panel.locator(".jp-CodeCell").count()
    assert n_code > 0

    def no_dialog():
        """The kernel was started for the page, so JupyterLab has nothing to ask: any dialog is a failure."""
        dialog = page.locator(".jp-Dialog")
        if dialog.count() and dialog.first.is_visible():
            title = dialog.first.locator(".jp-Dialog-header").inner_text()
            raise AssertionError(f"{notebook}: unexpected dialog {title!r}")

    no_dialog()
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
    errors = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")

    def all_ran():
        no_dialog()
        texts = [t for t in errors.all_inner_texts() if any(w in t for w in ("Error", "Traceback", "NOT borne out"))]
        assert not texts, f"{notebook}: a cell shows an error:\n" + "\n---\n".join(t[:800] for t in texts)
        prompts = panel.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        done = [p for p in prompts if p.strip().startswith("[") and p.strip()[1:-2].strip().isdigit()]
        return len(done) == n_code
    # 600 s, a wide margin for a cold or loaded machine: in the 2-core suite lesson 8b's cells take
    # about 50 s (2026-11-27); they took 277 s while the kernels had too many threads (conftest.py).
    wait_for(all_ran, 600, f"all {n_code} code cells of {notebook} to run")
    all_ran()                                   # the last cell's error, if it has one
    return panel


def test_a_claim_its_numbers_contradict_fails_the_lesson_in_full_mode(browser, lab):
    """The full-mode kernel holds claims strictly: a wrong reading stops the run at its cell, and the test says so
    (not after its wait for cells that never run)."""
    url, work = lab
    cells = ["import course_lib as cl", 'cl.claim("a planted wrong reading", False, shows="1 vs 2")', "print('after')"]
    (work / "notebooks" / "99_planted.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "source": c, "metadata": {}, "outputs": [], "execution_count": None}
                  for c in cells],
        "metadata": {"kernelspec": {"name": KERNEL, "display_name": "Python 3"}}, "nbformat": 4, "nbformat_minor": 5}))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        started = time.time()
        with pytest.raises(AssertionError, match=r"(?s)99_planted.ipynb: a cell shows an error.*a planted wrong "
                                                 r"reading: NOT borne out.*1 vs 2"):
            run_all_in_lab(page, url, work, "99_planted.ipynb", FULL_KERNEL)
        assert time.time() - started < 120
    finally:
        page.close()
        shutdown_kernels(url)


def latency_line(latencies):
    """One line per lesson: the median and slowest wait after one arrow-key step of a slider, and after a
    jump to its end (the End key), and which slider was slowest.  latencies: (ms, kind, which slider)."""
    parts = []
    for kind, what in (("step", "arrow-key step"), ("jump", "jump to the end"),
                       ("train step", "training slider's first-visit step"),
                       ("train jump", "training slider's first-visit jump")):
        rows = [(ms, where) for ms, k, where in latencies if k == kind]
        if rows:
            slowest, where = max(rows)
            parts.append(f"{what} median {statistics.median(ms for ms, _ in rows):.0f} ms, slowest "
                         f"{slowest:.0f} ms ({where}) over {len(rows)}")
    return "key press -> new picture painted: " + "; ".join(parts)


# In the page: the time of the key press (capture phase, before any handler) and of the first frame
# painted after the figure's picture changed and the new picture was decoded (what a learner sees).
_WATCH = """([figure]) => {
  const img = figure.querySelector("img");
  window.__pressed = undefined; window.__shown = undefined;
  document.addEventListener("keydown", () => { window.__pressed = performance.now(); }, {capture: true, once: true});
  const seen = new MutationObserver(() => {
    seen.disconnect();
    const painted = () => requestAnimationFrame(() => { window.__shown = performance.now(); });
    img.decode().then(painted, painted);
  });
  seen.observe(img, {attributes: true, attributeFilter: ["src"]});
}"""


def timed_moves(page, figure, handle, keys, timeout_ms=30_000):
    """Press each key on a slider's handle and measure, in the page, the time from the key press to
    the picture changing.  ``keys``: (key, kind) pairs; a kind of None moves the slider without timing
    it (to a known start).  Each press waits until the picture has settled (no change for 0.25 s), so
    no earlier move's picture is taken for this one's.  A key that does not move the slider is not
    timed; every move that does is, however long it takes (a first visit that trains, say), up to
    ``timeout_ms``: a move whose picture has not changed by then is returned among the misses.
    -> (list of (milliseconds, kind), list of misses)"""
    times, misses = [], []
    image = figure.locator("img").first
    for key, kind in keys:
        settled, last, end = time.time(), image.get_attribute("src"), time.time() + 10
        while time.time() - settled < 0.25 and time.time() < end:
            time.sleep(0.05)
            now = image.get_attribute("src")
            if now != last:
                settled, last = time.time(), now
        page.evaluate(_WATCH, [figure.element_handle()])
        value = handle.get_attribute("aria-valuenow")
        handle.press(key)
        moved = handle.get_attribute("aria-valuenow")
        if moved == value:
            continue
        try:
            page.wait_for_function("window.__shown !== undefined", timeout=timeout_ms)
        except PlaywrightTimeout:
            misses.append(f"{key} from {value} to {moved}: no new picture in {timeout_ms / 1000:.0f} s; "
                          + late_picture(page, figure, handle, timeout_ms))
            continue
        if kind is not None:
            times.append((page.evaluate("window.__shown - window.__pressed"), kind))
    return times, misses


def late_picture(page, figure, handle, waited_ms, wait_ms=60_000):
    """What a miss looked like, for its failure message: whether the picture came later (and when), the
    slider's value then, the kernel's state as JupyterLab shows it, and any text the figure shows."""
    try:
        page.wait_for_function("window.__shown !== undefined", timeout=wait_ms)
        came = f"it came {page.evaluate('window.__shown - window.__pressed') / 1000:.1f} s after the key press"
    except PlaywrightTimeout:
        came = f"none {(waited_ms + wait_ms) / 1000:.0f} s after it"
    status = page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status")
    text = " ".join(figure.inner_text().split())[:300]
    return f"{came}; slider at {handle.get_attribute('aria-valuenow')}, kernel {status}, figure text {text!r}"


def shutdown_kernels(url):
    """Stop every kernel, so the next lesson has the CPU to itself."""
    kernels = json.loads(urllib.request.urlopen(url + "/api/kernels", timeout=10).read())
    for kernel in kernels:
        request = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30)


# -- make site: every lesson executed and rendered to static HTML with its figures ----------------
def code_cells(path):
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


PAGE_BUDGET = 4 * 2 ** 20      # bytes: a lesson page with every frame of its live figures (README)


@pytest.fixture(scope="module")
def site(run_model_cache, tmp_path_factory):
    """`make site`'s builder run once, into a temporary folder.  The models the lessons trained (same
    fast-mode keys) are reused, as `make site` after a lesson run would: every notebook still runs top
    to bottom, its trainings load from the cache."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, COURSE_LIB_FAST="1", COURSE_LIB_CACHE=run_model_cache)
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out)],
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
