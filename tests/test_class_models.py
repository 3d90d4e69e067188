"""Models for a class: prepare (run the lessons, pack their models), install (a learner's cache loads them)."""
import json
import os
import tarfile

import nbformat
import pytest
import torch

from course_lib import VAE, CourseInputError, cache, cached_fit, class_models, fit

# A lesson in miniature: one cached training, as the real lessons do it.
LESSON = """
import torch, course_lib as cl
x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
model, history = cl.cached_fit("class-demo", {"data": cl.cache.data_key(x)},
                               lambda: cl.VAE.mlp(latent_dim=2, hidden=(8,)),
                               lambda m: cl.fit(m, x, steps=4, log_every=2, progress=False))
"""


def build():
    return VAE.mlp(latent_dim=2, hidden=(8,))


def must_not_train(model):
    raise AssertionError("trained although the model was installed")


def notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a lesson")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def config():
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    return {"data": cache.data_key(x)}


def test_prepared_models_are_loaded_by_a_learner_without_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_LIB_FAST", "1")
    good = notebook(tmp_path / "01_good.ipynb", LESSON)
    broken = notebook(tmp_path / "02_broken.ipynb", "raise RuntimeError('a lesson that fails')")
    archive = tmp_path / "out" / "class.tar.gz"
    assert class_models.prepare(str(broken), tmp_path / "instructor", fast=True) == {"02_broken.ipynb": None}
    results = class_models.prepare([broken, good], tmp_path / "instructor", fast=True, archive=archive)
    assert results["02_broken.ipynb"] is None and results["01_good.ipynb"] > 0     # one failure stops nothing
    said = capsys.readouterr().out
    assert "02_broken.ipynb: FAILED" in said and "1 model of this course version" in said

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert len(names) == 2 and names[1].startswith(f"class-demo-{cache.code_version()}-")
    assert manifest["code_version"] == cache.code_version() and manifest["fast"] is True
    assert manifest["lessons"]["02_broken.ipynb"] is None
    assert not list(archive.parent.glob(".*.tmp"))

    learner = tmp_path / "learner"
    assert class_models.install(archive, learner) == (1, 0)
    assert "trained in fast mode" in capsys.readouterr().out
    cache.clear_memory()
    model, history = cached_fit("class-demo", config(), build, must_not_train, directory=learner)
    assert history.steps and isinstance(model, VAE)
    assert class_models.install(archive, learner) == (0, 1)          # a second install keeps what is there
    assert "kept the 1 model already there" in capsys.readouterr().out


def _archive(tmp_path, manifest, files=()):
    """An archive with this manifest and these (name, bytes) members."""
    path = tmp_path / "class.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in ([("manifest.json", json.dumps(manifest).encode())] if manifest else []) + list(files):
            source = tmp_path / "member"
            source.write_bytes(data)
            tar.add(source, arcname=name)
    return path


def test_an_archive_of_another_course_version_is_refused_with_the_reason(tmp_path):
    archive = _archive(tmp_path, {"code_version": "0" * 12, "data": class_models.data_fingerprint()})
    with pytest.raises(CourseInputError, match="version"):
        class_models.install(archive, tmp_path / "learner")
    assert not (tmp_path / "learner").exists()
    with pytest.raises(CourseInputError, match="manifest"):
        class_models.install(_archive(tmp_path, None, [("x.pt", b"1")]), tmp_path / "learner")
    with pytest.raises(CourseInputError, match="manifest"):                  # a manifest.json of another kind
        class_models.install(_archive(tmp_path, None, [("manifest.json", b"[1, 2]")]), tmp_path / "learner")


def test_only_model_files_of_this_version_are_installed_and_never_outside_the_cache(tmp_path):
    ours = f"demo-{cache.code_version()}-{'a' * 16}.pt"
    members = [(ours, b"model"), (f"demo-{'0' * 12}-{'b' * 16}.pt", b"old"), ("../escape.pt", b"x"),
               (f"sub/{ours}", b"x"), ("notes.txt", b"x")]
    archive = _archive(tmp_path, {"code_version": cache.code_version(), "data": class_models.data_fingerprint()},
                       members)
    assert class_models.install(archive, tmp_path / "learner") == (1, 0)
    assert [p.name for p in (tmp_path / "learner").iterdir()] == [ours]
    assert not (tmp_path / "escape.pt").exists()


def test_a_learner_with_other_data_is_told_which_models_will_train(tmp_path, capsys):
    archive = _archive(tmp_path, {"code_version": cache.code_version(),
                                  "data": {"source": "full", "key": [60000, 1.0]}})
    class_models.install(archive, tmp_path / "learner")
    said = capsys.readouterr().out
    assert "trained on the full Fashion-MNIST" in said and "will train their own models" in said


def test_an_interrupted_pack_leaves_no_archive(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / f"demo-{cache.code_version()}-{'a' * 16}.pt").write_bytes(b"model")

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tarfile.TarFile, "add", fail)
    with pytest.raises(KeyboardInterrupt):
        class_models.pack(tmp_path / "class.tar.gz", folder, {"code_version": cache.code_version()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_the_command_line_says_what_was_wrong_in_one_line(tmp_path, capsys):
    assert class_models.main(["install", str(tmp_path / "missing.tar.gz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: archive must be a file") and "Traceback" not in err and err.count("\n") == 1
    assert class_models.main(["run", str(tmp_path / "missing.ipynb")]) == 2


def test_an_archive_can_be_read_by_the_class(tmp_path):
    """Written like any new file (mode 0o666 less the umask), not private to the instructor."""
    mask = os.umask(0o022)
    try:
        class_models.pack(tmp_path / "class.tar.gz", tmp_path, {"code_version": cache.code_version()})
    finally:
        os.umask(mask)
    assert (tmp_path / "class.tar.gz").stat().st_mode & 0o777 == 0o644


# -- one shared, read-only model store for a class (a JupyterHub) -------------------------------

SHARED_LEARNER = """
import sys, torch, course_lib as cl
x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
build = lambda: cl.VAE.mlp(latent_dim=2, hidden=(8,))
def must_not_train(model):
    raise SystemExit("trained a model that the shared folder holds")
cl.cached_fit("class-demo", {"data": cl.cache.data_key(x)}, build, must_not_train)
cl.cached_fit("own-work", {"learner": sys.argv[1]}, build,
              lambda m: cl.fit(m, x, steps=30, log_every=10, progress=False))
print("done", sys.argv[1])
"""


def _fill_shared_store(tmp_path, monkeypatch, capsys):
    """An instructor's model packed into an archive and installed with --shared; -> the folder."""
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "instructor"))
    cached_fit("class-demo", config(), build, lambda m: fit(m, torch.rand(64, 1, 28, 28), steps=4, progress=False))
    archive = tmp_path / "class.tar.gz"
    class_models.pack(archive, tmp_path / "instructor",
                      {"code_version": cache.code_version(), "data": class_models.data_fingerprint()})
    shared = tmp_path / "shared"
    assert class_models.main(["install", str(archive), "--shared", str(shared)]) == 0
    said = capsys.readouterr().out
    assert f"COURSE_LIB_SHARED_MODELS={shared}" in said and "c.Spawner.environment" in said
    cache.clear_memory()
    return shared


def _contents(folder):
    return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_mode) for p in folder.iterdir())


def test_a_shared_store_is_read_first_and_never_written(tmp_path, monkeypatch, capsys):
    shared = _fill_shared_store(tmp_path, monkeypatch, capsys)
    assert all(p.stat().st_mode & 0o777 == 0o444 for p in shared.iterdir())
    shared.chmod(0o555)                                    # read-only, as on a hub (root could still write:
    before = _contents(shared)                             # so every write is also watched below)
    writes = []
    original = cache.atomic_save
    monkeypatch.setattr(cache, "atomic_save", lambda state, path: (writes.append(path), original(state, path)))
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "learner"))
    monkeypatch.setenv("COURSE_LIB_SHARED_MODELS", str(shared))

    model, _ = cached_fit("class-demo", config(), build, must_not_train)        # found in the shared folder
    assert isinstance(model, VAE)
    cached_fit("own-work", {"n": 1}, build, lambda m: fit(m, torch.rand(32, 1, 28, 28), steps=2, progress=False))
    assert [p.parent for p in writes] == [tmp_path / "learner"]                 # new work: the learner's cache
    assert _contents(shared) == before


def test_a_damaged_file_in_the_shared_store_is_left_alone_and_the_learner_trains(tmp_path, monkeypatch, capsys):
    shared = _fill_shared_store(tmp_path, monkeypatch, capsys)
    (damaged,) = shared.iterdir()
    damaged.chmod(0o644)
    damaged.write_bytes(b"not a model")
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "learner"))
    monkeypatch.setenv("COURSE_LIB_SHARED_MODELS", str(shared))
    trained = []
    with pytest.warns(UserWarning, match="in the shared folder could not be read"):
        cached_fit("class-demo", config(), build, lambda m: trained.append(m) or fit(m, torch.rand(32, 1, 28, 28),
                                                                                    steps=2, progress=False))
    assert trained and damaged.read_bytes() == b"not a model"
    assert [p.name for p in (tmp_path / "learner").iterdir()] == [damaged.name]


def test_two_learners_train_at_once_beside_one_shared_store(tmp_path, monkeypatch, capsys):
    import subprocess
    import sys
    shared = _fill_shared_store(tmp_path, monkeypatch, capsys)
    shared.chmod(0o555)
    before = _contents(shared)
    runs = [subprocess.Popen([sys.executable, "-c", SHARED_LEARNER, name], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "COURSE_LIB_CACHE": str(tmp_path / name),
                                  "COURSE_LIB_SHARED_MODELS": str(shared), "OMP_NUM_THREADS": "1"})
            for name in ("ada", "ben")]
    for name, run in zip(("ada", "ben"), runs):
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0 and f"done {name}" in out, err[-2000:]
        assert len(list((tmp_path / name).glob("own-work-*.pt"))) == 1
        assert not list((tmp_path / name).glob("class-demo-*"))
    assert _contents(shared) == before


def test_install_shared_needs_its_folder():
    with pytest.raises(CourseInputError, match="--shared"):
        class_models.install("class.tar.gz", None, shared=True)
