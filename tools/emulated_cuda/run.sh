#!/usr/bin/env bash
# The test suite (or the pytest arguments given) on the emulated GPU of sitecustomize.py beside this
# file: device mistakes fail here as they would on CUDA.  Not a GPU: see that file's docstring.
#   bash tools/emulated_cuda/run.sh                          # unit tests, notebooks and exercises (make test-emulated-gpu)
#   bash tools/emulated_cuda/run.sh -q tests/test_hybrids.py # some of them
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
export COURSE_LIB_EMULATE_CUDA=1 COURSE_LIB_FAST=1 MPLBACKEND=Agg PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
python=${PYTHON:-.venv/bin/python}
$python -c "import torch, course_lib; assert course_lib.get_device().type == 'cuda', 'emulation is not active'" || exit 1
if [ $# -eq 0 ]; then
  set -- -n 2 --dist loadfile --no-loadscope-reorder --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
    --ignore tests/test_browser.py --ignore tests/test_site.py tests notebooks exercises
fi
exec $python -m pytest -p no:cacheprovider "$@"
