"""Render the course to static HTML, for reading before installing anything.

    make site                                   # -> site/index.html and one page per lesson
    .venv/bin/python tools/build_site.py --out site --mode auto notebooks/01_elbo.ipynb

Each lesson is executed top to bottom in a fresh kernel and exported with nbconvert's
HTML exporter; its figures are embedded in the page.  ``--jobs N`` renders N
lessons at a time (default: one per core, at most 4).  With ``COURSE_LIB_STATIC=1``
(set here) every live figure draws the frames of its sliders' grid (``LiveFigure.static_html``)
and the page switches between them with a few lines of script: no kernel, no server.  Progress
bars are left out of the pages.  Each page is written to a temporary file and
renamed, so a failed build leaves no half-written page.

``--mode`` says with which models: ``fast`` (small data, short training), ``full``, or ``auto``
(what ``make site`` uses): each lesson is first run in full mode with ``COURSE_LIB_CACHED_ONLY=1``,
which lets it load trained models (from the cache, say after ``class_models prepare`` or
``install``) but stops it at the first training; a lesson stopped so is rendered in fast mode.
Each page's banner says which it got.  Without ``--mode``, ``COURSE_LIB_FAST`` decides (fast or full).

A page opened from disk asks nothing of another machine: the exporter's scripts from the web
(MathJax, require.js, the mermaid loader) are taken out, and the formulas are rendered by
KaTeX, vendored from its npm package into ``tools/site_assets/katex`` (MIT licence beside it)
and copied to ``site/assets/katex``.
"""
import argparse
import html
import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

from course_lib.io import atomic_open

ROOT = Path(__file__).resolve().parent.parent
WIDGET = "application/vnd.jupyter.widget-view+json"
ASSETS = ROOT / "tools" / "site_assets"
TEMPLATES = ROOT / "tools" / "site_templates"      # "course": nbconvert's lab template, figures with their alt text
# Run in each kernel before the lesson (not a cell of it): every figure's PNG carries its alternative text.
ALT_TEXT = "import matplotlib.pyplot; from course_lib.figures import alt_text; alt_text.install()"

# What nbconvert's lab template fetches from the web, taken out of every page.
_OFF_MACHINE = [
    re.compile(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>'),       # MathJax, require.js
    re.compile(r'<script type="text/x-mathjax-config">.*?</script>', re.S),
    re.compile(r'<script type="module">(?:(?!</script>).)*mermaid(?:(?!</script>).)*</script>', re.S),
    re.compile(r'<script>(?:(?!</script>).)*addWidgetsRenderer(?:(?!</script>).)*</script>', re.S),  # widgets' loader
]
_KATEX = r"""<link rel="stylesheet" href="assets/katex/katex.min.css">
<script defer src="assets/katex/katex.min.js"></script>
<script defer src="assets/katex/contrib/auto-render.min.js"></script>
<script>
document.addEventListener("DOMContentLoaded", function () {
  renderMathInElement(document.body, {
    delimiters: [{left: "$$", right: "$$", display: true}, {left: "\\[", right: "\\]", display: true},
                 {left: "$", right: "$", display: false}, {left: "\\(", right: "\\)", display: false}],
    ignoredClasses: ["jp-CodeCell", "jp-OutputArea-output"],
    throwOnError: false
  });
});
</script>
"""
# Readable by everyone (WCAG 2.1 AA, checked with axe-core by tests/test_site.py): text at a contrast of
# 4.5 or more against its background (the prompts and three of the code colours of nbconvert's theme are
# paler), and links in running text underlined, not told apart by their colour alone.
_READABLE = """<style>
:root { --jp-cell-prompt-not-active-opacity: 1; --jp-cell-prompt-not-active-font-color: #5f5f5f; }
.jp-InputPrompt, .jp-OutputPrompt { color: #5f5f5f; }
.highlight .ow { color: #7a1fa2; }
.highlight .mi, .highlight .mf, .highlight .mh, .highlight .mo, .highlight .il { color: #0b6e0b; }
.highlight .c, .highlight .c1, .highlight .cm, .highlight .ch, .highlight .cs { color: #3d6565; }
.jp-RenderedHTMLCommon a:link, .jp-RenderedHTMLCommon a:visited { text-decoration: underline; }
</style>
"""


def banner(fast):
    mode = ("fast mode (small data, short training): its numbers, and the models behind its sliders, "
            "differ from a full run" if fast else "full mode (its models trained, or loaded where the cache "
            "or the course holds them, with the lessons' full budgets)")
    return nbformat.v4.new_markdown_cell(
        f"> **Read-only rendering**, executed in {mode} on {date.today().isoformat()}. "
        "Each live figure carries the frames its kernel drew; move its sliders to switch between them. "
        "To run the lesson and see every value, see the course's README.")


def offline(page):
    """The page with nothing fetched from another machine: the web scripts out, local KaTeX in."""
    for pattern in _OFF_MACHINE:
        page = pattern.sub("", page)
    return page.replace("</head>", _KATEX + _READABLE + "</head>", 1)


def execute(path, fast, cached_only=False):
    """One notebook run top to bottom in a fresh kernel, in fast or full mode.  -> the executed notebook"""
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ, COURSE_LIB_FAST="1" if fast else "0", COURSE_LIB_CACHED_ONLY="1" if cached_only else "0")
    # Kernels talk over local sockets (files), not TCP ports: kernels started at once (--jobs, or other
    # programs' kernels) could pick the same free port ("Address already in use").
    sockets = tempfile.mkdtemp(prefix="course-site-kernel-")   # absolute: the kernel runs in the notebook's folder
    km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
    try:
        NotebookClient(nb, km=km, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                       extra_arguments=[f"--InteractiveShellApp.exec_lines={ALT_TEXT}"]).execute(env=env)
    finally:
        if km.has_kernel:                      # a manager given to the client is the caller's to stop
            km.shutdown_kernel(now=True)
        shutil.rmtree(sockets, ignore_errors=True)
    return nb


def render(path, mode):
    """Execute one notebook and return its HTML page, its title and the mode it ran in ("fast" or "full")."""
    if mode == "auto":
        try:
            nb, mode = execute(path, fast=False, cached_only=True), "full"
        except CellExecutionError as error:
            if "NotCached" not in str(error):
                raise
            nb, mode = execute(path, fast=True), "fast"
    else:
        nb = execute(path, fast=mode == "fast")
    fast = mode == "fast"
    for cell in nb.cells:                                 # progress bars: widgets with no static form
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]
    nb.metadata.pop("widgets", None)                      # no widget state: the page's figures are plain HTML
    nb.cells.insert(0, banner(fast))
    title = next((line.lstrip("# ").strip() for c in nb.cells if c.cell_type == "markdown"
                  for line in c.source.splitlines() if line.startswith("# ")), path.stem)
    exporter = HTMLExporter(template_name="course", extra_template_basedirs=[str(TEMPLATES)])
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return offline(body), title, mode


def write(path, text):
    with atomic_open(path) as f:                          # the course's one way to write a whole file
        f.write(text.encode("utf-8"))


def build(out, notebooks, jobs=1, mode=None):
    os.environ["COURSE_LIB_STATIC"] = "1"                 # inherited by the kernels
    os.environ.pop("MPLBACKEND", None)                    # the kernels show figures inline
    share = max(1, (os.cpu_count() or 1) // jobs)         # share the cores: a larger preset value is lowered
    preset = os.environ.get("OMP_NUM_THREADS", "")
    os.environ["OMP_NUM_THREADS"] = preset if preset.isdigit() and 0 < int(preset) <= share else str(share)
    if mode is None:
        mode = "fast" if os.environ.get("COURSE_LIB_FAST", "").strip().lower() in {"1", "true", "yes", "on"} \
            else "full"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ASSETS, out / "assets", dirs_exist_ok=True)       # KaTeX, read from disk by every page

    def page(path):                                       # each lesson in its own kernel, its page written whole
        print(f"rendering {path.name} ...", flush=True)
        body, title, used = render(path, mode)
        write(out / f"{path.stem}.html", body)
        print(f"{path.name}: {used} mode", flush=True)
        return path.stem, title, used

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(page, path) for path in notebooks]
        try:
            entries = [f.result() for f in futures]       # in lesson order; the first failure is raised
        except Exception:
            for f in futures:
                f.cancel()                                # lessons not started yet are not run
            raise
    items = "\n".join(f'<li><a href="{stem}.html">{html.escape(title)}</a> ({used} mode)</li>'
                      for stem, title, used in entries)
    write(out / "index.html", "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
          "<title>Variational autoencoders: the course</title></head>\n<body>"
          "<h1>Variational autoencoders and probabilistic generative models</h1>\n"
          f"<p>A read-only rendering of the lessons.</p>\n<ol>\n{items}\n</ol>\n</body></html>\n")
    print(f"wrote {len(entries)} lessons and index.html to {out}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                        help="lessons rendered at a time, each in its own kernel (default: one per core, at most 4)")
    parser.add_argument("--mode", choices=("fast", "full", "auto"), default=None,
                        help="the models behind the pages (default: COURSE_LIB_FAST decides)")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
    try:
        build(args.out, [Path(p).resolve() for p in notebooks], args.jobs, args.mode)
    except Exception as e:  # noqa: BLE001 (a lesson that fails to run: say which, in one line)
        sys.exit(f"make site failed: {type(e).__name__}: {str(e).splitlines()[-1] if str(e) else ''}")


if __name__ == "__main__":
    main()
