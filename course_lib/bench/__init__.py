"""Benchmarks, run from the command line; no test depends on their timings.

    python -m course_lib.bench           training loops side by side (``training``)
    python -m course_lib.bench.sliders   the time of each lesson slider's redraw (``sliders``)
"""
