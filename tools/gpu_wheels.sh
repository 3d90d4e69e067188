#!/usr/bin/env bash
# The Jupyter packages that the lent GPU machines lack, as Python 3.12 wheels at the versions of
# requirements-lock.txt, in .whl/ (ignored by git), for tools/gpu_checks.sh: carry ".whl" in the
# device call.  The machines' image has torch, pytest, pytest-xdist, pytest-timeout, numpy,
# matplotlib, seaborn, tqdm, pillow and packaging already.  Run once, where PyPI is reachable:
#   bash tools/gpu_wheels.sh            (WHL_DIR=... to put them elsewhere)
set -eu -o pipefail
cd "$(dirname "$0")/.."
out=${WHL_DIR:-.whl}
names="asttokens comm debugpy executing fastjsonschema ipykernel ipython ipython_pygments_lexers ipywidgets jedi
       jsonschema jsonschema_specifications jupyter_client jupyter_core jupyterlab_widgets matplotlib_inline nbclient
       nbformat nbval nest_asyncio2 parso pexpect platformdirs prompt_toolkit ptyprocess pure_eval pyzmq referencing
       rpds_py stack_data tornado traitlets wcwidth widgetsnbextension"
if [ "$out" = .whl ] && ! grep -qx '/.whl/' .git/info/exclude 2>/dev/null; then echo '/.whl/' >> .git/info/exclude; fi
platforms=""
for p in manylinux_2_34 manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux1; do
  platforms="$platforms --platform ${p}_x86_64"
done
for n in $names; do
  v=$(grep -i -E "^${n//_/[-_]}==" requirements-lock.txt | cut -d= -f3)
  [ -n "$v" ] || { echo "$n is not pinned in requirements-lock.txt" >&2; exit 1; }
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $platforms \
    -d "$out" "$n==$v"
done
ls "$out"/*.whl | wc -l
