"""Models for a class: prepare (run the lessons, pack their models), install (a learner's cache loads them)."""
import json
import os
import tarfile

import nbformat
import pytest
import torch

from course_lib import CourseInputError, VAE, cache, cached_fit, class_models, fit

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
