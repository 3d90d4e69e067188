# Sourced by the GPU scripts (gpu_checks.sh, train_references.sh): the Jupyter packages that the lent
# machine's Python lacks travel as wheels in .whl/ (tools/gpu_wheels.sh) and are installed beside the
# course; logs go to $OUT; plots need no display.
OUT=${OUT:-gpu-logs}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
nvidia-smi -L
