"""Run a lesson's code cells in this process and print how long each took, and the total.

    COURSE_LIB_FAST=0 .venv/bin/python tools/time_lesson.py notebooks/03_rate_distortion.ipynb

Used for the full-mode run times in the README (a GPU machine needs no Jupyter
packages for it, only the course's own).  Live figures are built but not shown;
the model cache is used as usual, so point COURSE_LIB_CACHE at an empty folder
to time a first run.
"""
import json
import os
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")


def main(path):
    cells = [c for c in json.load(open(path))["cells"] if c["cell_type"] == "code"]
    namespace, total = {"__name__": "__main__"}, 0.0
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        start = time.perf_counter()
        exec(compile(source, f"{path} cell {i}", "exec"), namespace)
        seconds = time.perf_counter() - start
        total += seconds
        print(f"cell {i:>2}: {seconds:7.1f} s   {source.splitlines()[0][:70]}", file=sys.stderr, flush=True)
    print(f"{os.path.basename(path)}: {total:.0f} s in {len(cells)} code cells "
          f"(fast mode: {os.environ.get('COURSE_LIB_FAST', '0')})")


if __name__ == "__main__":
    for notebook in sys.argv[1:]:
        main(notebook)
