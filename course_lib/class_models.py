"""Train every lesson's models once, on the instructor's machine (a GPU, say), and hand them to a class.

    python -m course_lib.class_models prepare --archive class-models.tar.gz   # the instructor
    python -m course_lib.class_models install class-models.tar.gz             # each learner

``prepare`` runs the code cells of every lesson notebook (or of the ones named), each lesson in a
fresh Python process and in full mode, so that every model behind every slider lands in the model
cache; with ``--archive`` it then packs this version's models, and a manifest, into one file.
``install`` copies them into a learner's model cache, where the lessons load them instead of
training them.

A model is found only by the same course on the same data: its file name carries the hash of
``course_lib``'s source (``cache.code_version``), and its key a fingerprint of the training data.
So instructor and learners use the same commit of the course and the same Fashion-MNIST (the full
set or the subset the course ships). ``install`` refuses an archive made by another version, and
says so when the data differ (the lessons on the toy data and the sprites still load theirs).
Nothing is left half-written: the archive and every installed file are written under a temporary
name and then renamed.
"""
import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from .data import load_fashion_mnist
from .errors import CourseError, CourseInputError
from .io import atomic_open
from .training.cache import cache_dir, code_version, data_key, model_files, trained_by

MANIFEST = "manifest.json"
LESSONS = Path(__file__).resolve().parent.parent / "notebooks"
MIB = 2 ** 20


def run_lesson(path, on_cell=None):
    """Run the code cells of the notebook at ``path`` in this process, in order.  -> seconds in all

    on_cell(i, seconds, first_line) is called after each cell (to print its time, say).  Live
    figures are built but not shown; a cell that fails raises as it would in the notebook.
    """
    path = Path(path)
    if not path.is_file() or path.suffix != ".ipynb":
        raise CourseInputError(f"path must be a notebook (.ipynb) that exists; got {str(path)!r}.")
    os.environ.setdefault("MPLBACKEND", "Agg")
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    namespace, total = {"__name__": "__main__"}, 0.0
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        start = time.perf_counter()
        exec(compile(source, f"{path} cell {i}", "exec"), namespace)
        seconds = time.perf_counter() - start
        total += seconds
        if on_cell is not None:
            on_cell(i, seconds, (source.splitlines() or [""])[0])
    return total


def data_fingerprint():
    """Which Fashion-MNIST this machine's lessons train on: {"source": "full" or "subset", "key": [N, sum]}
    of its whole training split (the same in fast and full mode)."""
    data = load_fashion_mnist(n_train="all", n_test=1)
    return {"source": data.source.split()[0], "key": data_key(data.x_train)}


def prepare(notebooks=None, directory=None, fast=False, archive=None):
    """Run each lesson (a fresh process each) so its models are cached in ``directory``; then,
    if ``archive`` is given, pack this version's models into it.  -> {notebook name: seconds or None}

    A lesson that fails is reported and the others still run; None marks it in the result.
    """
    if isinstance(notebooks, (str, os.PathLike)):
        notebooks = [notebooks]                  # one lesson, given as a path
    notebooks = [Path(p) for p in (notebooks or sorted(LESSONS.glob("*.ipynb")))]
    if not notebooks:
        raise CourseInputError(f"there are no lesson notebooks in {LESSONS}; name the notebooks to run.")
    for path in notebooks:
        if not path.is_file() or path.suffix != ".ipynb":
            raise CourseInputError(f"notebooks must be .ipynb files that exist; got {str(path)!r}.")
    folder = Path(directory) if directory else cache_dir()
    env = dict(os.environ, COURSE_LIB_FAST="1" if fast else "0", COURSE_LIB_CACHE=str(folder),
               MPLBACKEND="Agg")
    results = {}
    for n, path in enumerate(notebooks, 1):
        print(f"[{n}/{len(notebooks)}] {path.name} ({'fast' if fast else 'full'} mode) ...", flush=True)
        start = time.perf_counter()
        child = subprocess.run([sys.executable, "-m", "course_lib.class_models", "run", str(path)], env=env)
        seconds = time.perf_counter() - start
        results[path.name] = round(seconds, 1) if child.returncode == 0 else None
        print(f"[{n}/{len(notebooks)}] {path.name}: "
              + (f"{seconds:.0f} s" if child.returncode == 0 else f"FAILED (exit {child.returncode}), see above"),
              flush=True)
    ours, _ = model_files(folder)
    print(f"{folder}: {_models(len(ours))} of this course version ({code_version()}), "
          f"{sum(p.stat().st_size for p in ours) / MIB:.1f} MiB")
    if archive is not None:
        manifest = {"code_version": code_version(), "fast": fast, "data": data_fingerprint(),
                    "lessons": results, "created": time.strftime("%Y-%m-%d %H:%M:%S")}
        pack(archive, folder, manifest)
        print(f"wrote {archive}: {_models(len(ours))}; learners run\n"
              f"  python -m course_lib.class_models install {archive}")
    return results


def pack(archive, directory, manifest):
    """Write this version's model files in ``directory`` and ``manifest`` to the tar.gz ``archive``
    (atomically).  -> the number of models packed"""
    ours, _ = model_files(directory)
    with atomic_open(archive) as f, tarfile.open(fileobj=f, mode="w:gz", compresslevel=1) as tar:
        text = json.dumps(manifest, indent=1).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime = len(text), int(time.time())
        tar.addfile(info, io.BytesIO(text))
        for path in ours:
            tar.add(path, arcname=path.name)
    return len(ours)


def _read_manifest(tar, archive):
    try:
        manifest = json.loads(tar.extractfile(MANIFEST).read())
    except (KeyError, AttributeError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("data", {}), dict):
        raise CourseInputError(f"archive must be made by `python -m course_lib.class_models prepare --archive`; "
                               f"{archive} holds no course manifest.")
    return manifest


def install(archive, directory=None, shared=False):
    """Copy the models of ``archive`` into the model cache ``directory`` (default: the usual one).
    -> (models installed, models that were there already)

    Only model files of this course version are taken; files already in the cache are kept.
    ``shared=True``: ``directory`` is a class's shared model folder (on a JupyterHub, one copy for
    every learner): the files are made readable by everyone, and the line that points the
    learners' kernels at it (``COURSE_LIB_SHARED_MODELS``) is printed.
    """
    if shared and not directory:
        raise CourseInputError("install --shared needs the shared folder, e.g. --shared /srv/vae-course/models.")
    if not isinstance(archive, (str, os.PathLike)):
        raise CourseInputError(f"archive must be the path of a file made by `class_models prepare --archive`; "
                               f"got {type(archive).__name__}.")
    archive, folder = Path(archive), Path(directory) if directory else cache_dir()
    if not archive.is_file():
        raise CourseInputError(f"archive must be a file made by `class_models prepare --archive`; "
                               f"there is no file {str(archive)!r}.")
    try:
        tar = tarfile.open(archive, mode="r:*")   # noqa: SIM115 (closed by the `with tar:` below)
    except (tarfile.TarError, OSError):
        raise CourseInputError(f"archive must be a .tar.gz made by `class_models prepare --archive`; "
                               f"{archive} is not a tar file, or a damaged one.") from None
    with tar:
        manifest = _read_manifest(tar, archive)
        if manifest.get("code_version") != code_version():
            raise CourseInputError(
                f"archive must hold models of this course version ({code_version()}); {archive} holds version "
                f"{manifest.get('code_version')}'s, and a model is found only by the version that trained it. "
                "Use the instructor's commit of the course, or ask for an archive made with yours.")
        installed, present = 0, 0
        folder.mkdir(parents=True, exist_ok=True)
        for member in tar.getmembers():
            if not (member.isfile() and trained_by(member.name) == code_version()):
                continue                         # the manifest, or nothing this module wrote
            target = folder / member.name
            if target.exists():
                present += 1
                continue
            with atomic_open(target) as f:
                f.write(tar.extractfile(member).read())
            if shared:
                target.chmod(0o444)              # every learner reads it; nobody writes it
            installed += 1
        if shared:
            folder.chmod(0o755)
    print(f"installed {_models(installed)} into {folder}"
          + (f"; kept the {_models(present)} already there" if present else ""))
    if shared:
        print(f"learners read them when their kernels have COURSE_LIB_SHARED_MODELS={folder} "
              f"(on a JupyterHub: c.Spawner.environment = {{'COURSE_LIB_SHARED_MODELS': '{folder}'}}); "
              "what they train themselves goes to their own cache.")
    if manifest.get("fast"):
        print("note: these models were trained in fast mode; the lessons load them only in fast mode.")
    here = data_fingerprint()
    if manifest.get("data") != here:
        theirs = manifest.get("data", {}).get("source", "unknown")
        print(f"note: they were trained on the {theirs} Fashion-MNIST, and this machine has "
              f"the {here['source']} one; the lessons on Fashion-MNIST will train their own models "
              "(the ones on the toy data and the sprites load these).")
    return installed, present


def _models(n):
    return f"{n} model" + ("" if n == 1 else "s")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.class_models",
                                     description="Train the lessons' models once and hand them to a class.")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare", help="run the lessons (full mode) so their models are cached; "
                                            "--archive packs them")
    p.add_argument("notebooks", nargs="*", help="lesson notebooks (default: all of notebooks/)")
    p.add_argument("--archive", default=None, help="write this version's models to this .tar.gz")
    p.add_argument("--dir", default=None, help="the cache folder (default: $COURSE_LIB_CACHE or "
                                               "~/.cache/course_lib/models)")
    p.add_argument("--fast", action="store_true", help="fast mode (small budgets; for trying this out)")
    i = commands.add_parser("install", help="copy an archive's models into this machine's cache")
    i.add_argument("archive")
    where = i.add_mutually_exclusive_group()
    where.add_argument("--dir", default=None, help="the cache folder (default as for prepare)")
    where.add_argument("--shared", default=None, metavar="DIR",
                       help="a class's shared, read-only model folder, looked in before each learner's own "
                            "cache (learners' kernels need COURSE_LIB_SHARED_MODELS=DIR)")
    r = commands.add_parser("run", help="run one notebook's code cells here, printing each cell's time")
    r.add_argument("notebook")
    args = parser.parse_args(argv)
    try:
        if args.command == "prepare":
            results = prepare(args.notebooks, args.dir, args.fast, args.archive)
            return 1 if None in results.values() else 0
        if args.command == "install":
            install(args.archive, args.shared or args.dir, shared=bool(args.shared))
            return 0
        total = run_lesson(args.notebook, lambda i, s, line: print(f"cell {i:>2}: {s:7.1f} s   {line[:70]}",
                                                                     file=sys.stderr, flush=True))
        print(f"{Path(args.notebook).name}: {total:.0f} s (fast mode: {os.environ.get('COURSE_LIB_FAST', '0')})")
        return 0
    except CourseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
