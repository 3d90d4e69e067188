#!/usr/bin/env bash
# Every GPU check of the course in one run, for a lent GPU machine whose Python has torch
# with CUDA but no Jupyter packages (those travel as Python 3.12 wheels in .whl/, made with
# pip download --no-deps; nbval, ipykernel, ipywidgets and what they need):
#   1. python -m course_lib.bench --devices cuda --compile      (the README's GPU table)
#   2. the whole test suite on CUDA, notebooks and exercises included (not the browser test:
#      there is no Chromium or JupyterLab on that machine)
#   3. the full-mode run time of every lesson (tools/time_lesson.py, a first run: empty cache)
# Logs go to $OUT (or ./gpu-logs).  Each part has its own time limit, so one slow part
# cannot take the others' time.
set -u -o pipefail
OUT=${OUT:-gpu-logs}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"

echo "== 1. benchmark"
timeout "${BENCH_S:-170}" python3 -m course_lib.bench --devices cuda --compile --sweep-steps ${SWEEP_STEPS:-1000} 2>&1 | tee "$OUT/bench.log"

echo "== 2. test suite on CUDA"
# unit tests spread test by test; each notebook's cells stay together in one kernel
COURSE_LIB_FAST=1 timeout "${TESTS_S:-200}" python3 -m pytest -v -n 8 --dist load -p no:cacheprovider \
  --timeout 150 --ignore tests/test_browser.py tests > "$OUT/tests-unit.log" 2>&1 &
COURSE_LIB_FAST=1 timeout "${TESTS_S:-200}" python3 -m pytest -v -n 6 --dist loadfile -p no:cacheprovider \
  --timeout 150 --nbval-lax --nbval-current-env --nbval-cell-timeout=150 notebooks exercises > "$OUT/tests-nb.log" 2>&1 &
wait
for log in "$OUT/tests-unit.log" "$OUT/tests-nb.log"; do
  echo "$log:"; grep -E "^=+ .*(passed|failed|error)" "$log" | tail -1; grep -E "(FAILED|ERROR) " "$log" | head -20
done

echo "== 3. full-mode lessons, first run"
for nb in ${LESSONS:-notebooks/0*.ipynb}; do
  COURSE_LIB_FAST=0 COURSE_LIB_CACHE=/tmp/lesson-cache timeout "${LESSON_S:-90}" \
    python3 tools/time_lesson.py "$nb" 2>>"$OUT/lessons.err" | tee -a "$OUT/lessons.log" || echo "$nb: stopped or failed (exit $?)"
done
tail -5 "$OUT/lessons.err"
