#!/usr/bin/env bash
# Every GPU check of the course in one run, for a lent GPU machine whose Python has torch
# with CUDA but no Jupyter packages: those travel as Python 3.12 wheels in .whl/, made by
# tools/gpu_wheels.sh (nbval, nbclient, ipykernel, ipywidgets and what they need; without
# nbclient one unit test fails there).  In this order, most needed first:
#   1. the whole test suite on CUDA, notebooks and exercises included (not the browser test:
#      there is no Chromium or JupyterLab on that machine)
#   2. python -m course_lib.bench --devices cuda --compile      (the README's GPU table)
#   3. the full-mode run time of each lesson (tools/time_lesson.py, a first run: empty cache),
#      the lessons without a GPU figure yet first, as long as time is left
# The whole run ends within TOTAL_S seconds (default 560: one device call may run 600 s), and
# each part has its own limit inside that, so one slow part cannot take the others' time.
# Logs go to $OUT (or ./gpu-logs).
set -u -o pipefail
END=$((SECONDS + ${TOTAL_S:-560}))
left() {  # seconds for the next part: its own limit, or what is left of the whole run
  local rest=$((END - SECONDS)); [ "$1" -lt "$rest" ] && echo "$1" || echo $((rest > 0 ? rest : 1))
}
source "$(dirname "$0")/gpu_env.sh"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"

echo "== 1. test suite on CUDA ($(date +%T))"
# Unit tests spread test by test; each notebook's cells stay together in one kernel.  The two
# runs side by side have 12 workers for 16 cores: one thread each (conftest.py keeps this value).
# At the time limit pytest gets SIGINT, so it still prints each failure's reason and the slowest tests
# (a plain kill, as in the H200 run, left failures without their reasons); 20 s later it is killed.
T=$(left "${TESTS_S:-300}"); T=$(( T > 40 ? T - 20 : T ))
export OMP_NUM_THREADS=1
COURSE_LIB_FAST=1 timeout -s INT -k 20 "$T" python3 -m pytest -v -rfE --durations=15 -n 6 --dist load \
  -p no:cacheprovider --timeout 240 --ignore tests/test_browser.py --ignore tests/test_site.py tests > "$OUT/tests-unit.log" 2>&1 &
COURSE_LIB_FAST=1 timeout -s INT -k 20 "$T" python3 -m pytest -v -rfE --durations=15 -n 6 --dist loadfile \
  -p no:cacheprovider --timeout 240 --nbval-lax --nbval-current-env --nbval-cell-timeout=240 \
  notebooks exercises > "$OUT/tests-nb.log" 2>&1 &
wait
for log in "$OUT/tests-unit.log" "$OUT/tests-nb.log"; do
  echo "$log:"; grep -E "^=+ .*(passed|failed|error)" "$log" | tail -1
  grep -E "^(FAILED|ERROR) " "$log" | head -20                  # the short summary: name - reason
done

unset OMP_NUM_THREADS
echo "== 2. benchmark ($(date +%T))"
timeout "$(left "${BENCH_S:-120}")" python3 -m course_lib.bench --devices cuda --compile \
  --sweep-steps "${SWEEP_STEPS:-1000}" 2>&1 | tee "$OUT/bench.log"

echo "== 3. full-mode lessons, first run ($(date +%T))"
for nb in ${LESSONS:-notebooks/0[5-8]*.ipynb notebooks/0[0-4]*.ipynb}; do
  [ $((END - SECONDS)) -gt 20 ] || { echo "$nb: no time left"; continue; }
  COURSE_LIB_FAST=0 COURSE_LIB_CACHE=/tmp/lesson-cache timeout "$(left "${LESSON_S:-150}")" \
    python3 tools/time_lesson.py "$nb" 2>>"$OUT/lessons.err" | tee -a "$OUT/lessons.log" || echo "$nb: stopped or failed (exit $?)"
done
tail -5 "$OUT/lessons.err"
echo "== done ($(date +%T))"
