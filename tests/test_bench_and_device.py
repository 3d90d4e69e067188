"""The benchmark runs and prints its ratio line; device and seeding helpers behave; the emulated GPU works."""
import os
import re
import subprocess
import sys
from pathlib import Path

import torch

from course_lib import VAE, get_device, install_friendly_errors, seed_everything
from course_lib.bench import training as bench

ROOT = Path(__file__).resolve().parent.parent


def test_bench_prints_images_per_second_and_the_ratio_last(capsys, monkeypatch):
    monkeypatch.setattr(bench, "load_fashion_mnist",
                        lambda n_train, n_test: type("D", (), {"x_train": torch.rand(512, 1, 28, 28)}))
    monkeypatch.setattr(bench, "build_model", lambda: VAE.mlp(latent_dim=2, hidden=(16,)))
    bench.main(["--steps", "3", "--sweep-steps", "2", "--devices", "cpu"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("cpu, ") and "batch 128" in lines[0]
    assert re.fullmatch(r"  plain DataLoader loop +[\d,]+ img/s", lines[1])
    assert re.fullmatch(r"  fit, eager +[\d,]+ img/s", lines[2])
    assert re.fullmatch(r"  bare step \(the ceiling\) +[\d,]+ img/s", lines[3])
    assert re.fullmatch(r"  fit's share of the ceiling: \d+\.\d\d \(fit, eager\)", lines[4])
    assert re.fullmatch(r"  8 betas, 2 steps each: one fit [\d.]+ s, 8 separate fits [\d.]+ s; fit_sweep stacked "
                        r"[\d.]+ s, fit_sweep separate [\d.]+ s \(stacked/one [\d.]+, separate fits/stacked [\d.]+\)",
                        lines[5])
    assert re.fullmatch(r"  fit_sweep\(strategy='auto'\) on cpu trains separate: \d\.\d\d of the faster one's speed",
                        lines[6])
    assert lines[7] == "  fastest fit: fit, eager"
    assert re.fullmatch(r"ratio fit/plain: \d+\.\d\d", lines[-1])


def test_the_bare_step_of_the_ceiling_trains_the_model_on_its_one_batch():
    torch.manual_seed(0)
    model = VAE.mlp(latent_dim=2, hidden=(16,))
    x = torch.zeros(64, 1, 28, 28)
    step = bench.BareStep(model, x, 32, torch.device("cpu"))
    before = step.step.run(step.index, 0)[0]
    step.run(200)
    assert float(step.step.run(step.index, 0)[0]) < 0.5 * float(before)        # the loss on that batch falls


def test_device_order_and_override():
    expected = "cuda" if torch.cuda.is_available() else None
    if expected:
        assert get_device().type == "cuda"
    assert get_device("cpu") == torch.device("cpu")


def test_seed_everything_repeats_runs():
    seed_everything(11)
    a = torch.randn(5)
    seed_everything(11)
    assert torch.equal(a, torch.randn(5))


def test_friendly_errors_need_ipython():
    assert install_friendly_errors() is False      # not inside a notebook here


def test_friendly_errors_in_a_kernel_are_one_line_and_still_fail_the_cell():
    import nbclient
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import torch, course_lib as cl\ncl.install_friendly_errors()"),
                nbformat.v4.new_code_cell("cl.VAE.mlp().loss_terms(torch.rand(2, 1, 28, 28), beta=-1)"),
                nbformat.v4.new_code_cell("1 / 0")]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    (error,) = nb.cells[1].outputs
    assert error.output_type == "error"                       # Run All stops here; nbval fails the cell
    assert error.traceback == ["CourseInputError: beta must be >= 0.0, got -1.0."]
    (other,) = nb.cells[2].outputs
    assert other.output_type == "error" and len(other.traceback) > 1   # other errors keep their traceback


EMULATION_PROBE = """
import torch, course_lib as cl
line = torch.nn.Linear(2, 1).to(cl.get_device())
print(cl.get_device().type, line.weight.device, line(torch.ones(4, 2).cuda()).detach().cpu().numpy().shape)
for what, attempt in [("a CPU input", lambda: line(torch.ones(4, 2))),
                      ("numpy of a GPU tensor", lambda: line(torch.ones(4, 2).cuda()).detach().numpy())]:
    try:
        attempt()
        print(what, "accepted")
    except (RuntimeError, TypeError):
        print(what, "refused")
"""


def test_the_emulated_gpu_refuses_what_cuda_refuses():
    """tools/emulated_cuda, the maintainers' check for device mistakes on a machine without a GPU:
    switched on, it says "cuda", and refuses a CPU input to a GPU layer and numpy() of a GPU tensor."""
    env = {**os.environ, "COURSE_LIB_EMULATE_CUDA": "1", "PYTHONPATH": str(ROOT / "tools" / "emulated_cuda")}
    out = subprocess.run([sys.executable, "-c", EMULATION_PROBE], env=env, capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["cuda cuda:0 (4, 1)", "a CPU input refused", "numpy of a GPU tensor refused"]
