"""Run a lesson's code cells in this process and print how long each took, and the total.

    COURSE_LIB_FAST=0 .venv/bin/python tools/time_lesson.py notebooks/03_rate_distortion.ipynb

Used for the full-mode run times in the README (a GPU machine needs no Jupyter
packages for it, only the course's own).  Live figures are built but not shown;
the model cache is used as usual, so point COURSE_LIB_CACHE at an empty folder
to time a first run.  The same as ``python -m course_lib.class_models run NOTEBOOK``.
"""
import sys

from course_lib.class_models import main

if __name__ == "__main__":
    sys.exit(max([main(["run", notebook]) for notebook in sys.argv[1:]] or [0]))
