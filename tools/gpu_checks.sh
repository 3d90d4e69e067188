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
timeout "${BENCH_S:-170}" python3 -m course_lib.bench --devices cuda --compile 2>&1 | tee "$OUT/bench.log"

echo "== 2. test suite on CUDA"
COURSE_LIB_FAST=1 timeout "${TESTS_S:-200}" python3 -m pytest -q -n 12 --dist loadfile -p no:cacheprovider \
  --nbval-lax --nbval-current-env --nbval-cell-timeout=150 --ignore tests/test_browser.py \
  tests notebooks exercises > "$OUT/tests.log" 2>&1
echo "pytest exit code $?"; grep -E "passed|failed|error" "$OUT/tests.log" | tail -3
grep -E "^(FAILED|ERROR)" "$OUT/tests.log" | head -30

echo "== 3. full-mode lessons, first run"
for nb in ${LESSONS:-notebooks/0*.ipynb}; do
  COURSE_LIB_FAST=0 COURSE_LIB_CACHE=/tmp/lesson-cache timeout "${LESSON_S:-90}" \
    python3 tools/time_lesson.py "$nb" 2>>"$OUT/lessons.err" | tee -a "$OUT/lessons.log" || echo "$nb: stopped or failed (exit $?)"
done
tail -5 "$OUT/lessons.err"
