#!/usr/bin/env bash
# Train the reference models that need a GPU, on a lent GPU machine, in one run:
#
#   bash tools/train_references.sh            (on the GPU machine; its Python needs torch with CUDA,
#                                              plus the wheels of tools/gpu_wheels.sh in .whl/)
#
# The shipped manifest and weights are copied to $OUT/reference first, so the recipes that need
# what the course ships (the VAE-GAN's measure uses the Fashion-MNIST classifier) find it, and the
# new models are added beside the old.  Back on the development machine, copy
# $OUT/reference/manifest.json and $OUT/reference/weights/ into course_lib/reference/, then run
# `python -m course_lib.reference --check` and `make test`.  Each recipe runs under its own time
# limit inside TOTAL_S (default 560 s), the β-VAEs first; the log is $OUT/reference.log.  Every model
# is written as soon as it is measured and a rerun skips those already there, so a recipe cut off by the
# limit keeps the models it finished.  (The CPU recipes of the same names without -64 train on a laptop:
# tools/train_cpu_references.sh.)
set -u -o pipefail
END=$((SECONDS + ${TOTAL_S:-560}))
source "$(dirname "$0")/gpu_env.sh"
mkdir -p "$OUT/reference/weights"
cp course_lib/reference/manifest.json "$OUT/reference/"
cp -r course_lib/reference/weights/. "$OUT/reference/weights/"
# One process per group (names joined by commas): the three sprite recipes share the 100,000 rendered
# training sprites, which one process renders once.
for group in ${RECIPES:-beta-vae-dsprites-64,beta-tcvae-dsprites-64,capacity-dsprites-64}; do
  rest=$((END - SECONDS)); [ "$rest" -gt 30 ] || { echo "$group: no time left" | tee -a "$OUT/reference.log"; continue; }
  timeout "$rest" python3 -m course_lib.reference train ${group//,/ } --folder "$OUT/reference" 2>&1 \
    | grep -v "it/s" | tee -a "$OUT/reference.log" || echo "$group: stopped or failed (exit $?)" | tee -a "$OUT/reference.log"
done
python3 -m course_lib.reference list --folder "$OUT/reference" | tee -a "$OUT/reference.log"
