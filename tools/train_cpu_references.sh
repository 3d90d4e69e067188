#!/usr/bin/env bash
# Train the reference models of lessons 4 and 8b that a CPU can train, one model at a time, resumably:
#
#   nohup bash tools/train_cpu_references.sh > reference-training.log 2>&1 &
#
# Each model's weights and manifest entry are written as soon as it is measured, and a rerun skips the
# models the manifest already records (trained by the same recipe), so a run that is cut off (a closed
# laptop, a lost machine) loses at most the model in progress: run the same command again.  On the
# 2-core CPU one β-VAE takes about 5 minutes.  Commit course_lib/reference/ as models land.
# RECIPES overrides the list; FOLDER writes elsewhere than the package (as --folder does).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
for name in ${RECIPES:-beta-vae-dsprites capacity-dsprites beta-tcvae-dsprites}; do
  "$PY" -m course_lib.reference train "$name" --device cpu ${FOLDER:+--folder "$FOLDER"}
done
"$PY" -m course_lib.reference list ${FOLDER:+--folder "$FOLDER"}
