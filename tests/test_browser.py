"""The lessons as a learner meets them: in JupyterLab in a real browser (the static site: tests/test_site.py).

JupyterLab + headless Chromium, driven by Playwright.

For each lesson: open it, run all cells, check that no cell shows an error and
no widget failed to render, then move every slider of every live figure and
check that its figure changes.  Every lesson but lesson 1 runs in full mode on
the shipped models with strict claims (conftest.py, LAB_FAST_MODE): what a learner
gets, and a claim that its numbers contradict is an error in its cell.  Uses Debian's Chromium at /usr/bin/chromium
(never a downloaded browser).  Skipped with a message when it is missing,
except in CI, where .ci/run installs it and its absence is a failure.

The lessons are opened one after another in one JupyterLab page (LabPage).
Deterministic from a cold start: the test starts each lesson's kernel through
the server's REST API and waits for its first reply before the lesson opens, so
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
from browser_support import LESSONS, ROOT, expected_live_figures, wait_for
from playwright.sync_api import TimeoutError as PlaywrightTimeout

KERNEL = "python3"       # the kernel every notebook names in its metadata: the lab's own mode, fast
FULL_KERNEL = "course-full-mode"        # the same Python, in full mode on the shipped models with strict claims
FULL_MODE = {"COURSE_LIB_FAST": "0", "COURSE_LIB_CACHED_ONLY": "1", "COURSE_LIB_STRICT_CLAIMS": "1"}
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
             "--LabApp.expose_app_in_browser=True",        # window.jupyterapp: one page opens every lesson (LabPage)
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


class LabPage:
    """One JupyterLab page in which the lessons are opened one after another, as a learner opens them from the
    file browser: the lab's scripts load once (about 4 s of a page's start), not once per lesson.  A lesson
    that fails leaves the page to be closed, and the next gets a fresh one (nothing of a failure carries over)."""

    def __init__(self, browser, url):
        self.browser, self.url, self.page = browser, url, None

    def get(self):
        """The page, with JupyterLab loaded and no document open."""
        if self.page is None:
            self.page = self.browser.new_page(viewport={"width": 1400, "height": 1000})
            self.page.goto(f"{self.url}/lab/workspaces/course-browser-test")      # a fresh workspace: no tab
            self.page.wait_for_function("window.jupyterapp !== undefined && window.jupyterapp.shell !== undefined",
                                        timeout=60_000)
            self.page.evaluate("async () => { await window.jupyterapp.restored; }")
        return self.page

    def close_documents(self):
        """Close every open notebook without the "save your work?" dialog (the lessons are temporary copies)."""
        if self.page is not None:
            self.page.evaluate("""() => {
              for (const widget of Array.from(window.jupyterapp.shell.widgets("main"))) {
                if (widget.context) { widget.context.model.dirty = false; }
                widget.dispose();
              }
            }""")

    def discard(self):
        if self.page is not None:
            self.page.close()
            self.page = None


@pytest.fixture(scope="module")
def lab_page(browser, lab):
    holder = LabPage(browser, lab[0])
    yield holder
    holder.discard()


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


def test_make_lab_asks_no_news_question(lab):
    """`make lab` passes the course's own settings folder (tools/lab-settings), which turns the news
    prompt off: the server, started with that argument, says so for a learner with no settings."""
    url, _ = lab
    notification = api(url, "GET", "/lab/api/settings/@jupyterlab/apputils-extension:notification")
    defaults = notification["schema"]["properties"]                  # overrides.json sets the defaults
    assert defaults["fetchNews"]["default"] == "false" and defaults["checkForUpdates"]["default"] is False
    assert "fetchNews" not in notification["settings"]              # and nothing of the learner's is needed


@pytest.mark.parametrize("lesson", LESSONS[::-1])
def test_lesson_runs_and_every_slider_redraws_its_figure(lab_page, lab, lesson, lab_fast_mode, tmp_path, record_property):
    url, work = lab
    mode = "fast" if lesson in lab_fast_mode else "full"
    page = lab_page.get()
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
        lab_page.close_documents()
    except BaseException:
        page.screenshot(path=str(shots / f"{lesson}-failed.png"), full_page=True)
        lab_page.discard()
        raise
    finally:
        shutdown_kernels(url)


def run_all_in_lab(page, url, work, notebook, kernel):
    """Open ``notebooks/<notebook>`` in JupyterLab on a kernel of ``kernel`` started for it, run all its cells
    from the Run menu, and wait until every one has run.  A cell that shows an error fails at once, with the
    error.  -> the notebook's panel"""
    start_kernel_session(url, work, notebook, kernel=kernel)
    page.evaluate("async path => { await window.jupyterapp.commands.execute('docmanager:open', "
                  "{path, factory: 'Notebook'}); }", f"notebooks/{notebook}")     # as a double click in the file browser
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


def test_a_claim_its_numbers_contradict_fails_the_lesson_in_full_mode(lab_page, lab):
    """The full-mode kernel holds claims strictly: a wrong reading stops the run at its cell, and the test says so
    (not after its wait for cells that never run)."""
    url, work = lab
    cells = ["import course_lib as cl", 'cl.claim("a planted wrong reading", False, shows="1 vs 2")', "print('after')"]
    (work / "notebooks" / "99_planted.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "source": c, "metadata": {}, "outputs": [], "execution_count": None}
                  for c in cells],
        "metadata": {"kernelspec": {"name": KERNEL, "display_name": "Python 3"}}, "nbformat": 4, "nbformat_minor": 5}))
    page = lab_page.get()
    try:
        started = time.time()
        with pytest.raises(AssertionError, match=r"(?s)99_planted.ipynb: a cell shows an error.*a planted wrong "
                                                 r"reading: NOT borne out.*1 vs 2"):
            run_all_in_lab(page, url, work, "99_planted.ipynb", FULL_KERNEL)
        assert time.time() - started < 120
        lab_page.close_documents()
    except BaseException:
        lab_page.discard()
        raise
    finally:
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
