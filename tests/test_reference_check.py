"""``python -m course_lib.reference --check --quick`` in make test: every shipped reference model loaded into
today's code and measured again on the CPU, each recipe on the fewer test images its ``quick`` settings name,
against the quick metrics recorded beside its metrics (the same measuring code, deterministic, so a changed
model or a changed measurement fails it as surely as the full check, in half a minute instead of two and a
half); and what lessons 4 and 8b read of the recorded metrics."""
import os
import re

import pytest

from course_lib import reference
from course_lib.reference.__main__ import main

if os.environ.get("COURSE_LIB_EMULATE_CUDA") == "1":
    pytest.skip("the reference models are measured on CPU copies whatever the device: make test re-measures them",
                allow_module_level=True)


def test_the_quick_check_passes_on_every_shipped_model(capsys):
    """Every recipe of the manifest that ships weights is re-measured (each named in the output), none disagrees."""
    models = reference.read_manifest()["models"]
    recipes = sorted({key.split("/", 1)[0] for key, entry in models.items() if entry["weights"].get("shipped", True)})
    assert recipes, "the manifest lists no shipped reference model"
    code = main(["--check", "--quick"])
    out = capsys.readouterr().out
    assert code == 0, "\n".join(line for line in out.splitlines() if line.startswith("MISMATCH"))
    assert "all shipped reference models agree with their manifest" in out
    said = {m.group(1) for m in re.finditer(r"^(\S+): ([1-9]\d* models re-measured|nothing shipped)", out, re.M)}
    assert said == set(recipes), f"not re-measured: {sorted(set(recipes) - said)}"


def _complete(name, over):
    from course_lib.reference import views
    if not views.complete(name, over):
        pytest.fail(f"not every model of {name} is recorded in the manifest (python -m course_lib.reference list): "
                    "the course ships all of them")
    return views.by_value(name, over)


def test_the_shipped_beta_vae_sweeps_rate_falls_as_beta_grows():
    """What lesson 4 teaches first: at the optimum the rate cannot rise with β (its medians over seeds here).
    Not asked of the β-TCVAEs: their β weighs only the total correlation, D + R + (β − 1) TC, so their rate
    need not fall (β = 10's median rate is a tenth of a nat above β = 6's)."""
    import numpy as np
    groups = _complete("beta-vae-dsprites", "beta")
    rates = [float(np.median([m["rate"] for _, m in rows])) for rows in groups.values()]
    assert all(a > b for a, b in zip(rates, rates[1:])), dict(zip(groups, rates))


def test_the_shipped_capacity_models_reach_their_targets():
    """The controlled β holds the rate at the final C (within 1.5 nats on the test sprites): an encoder can
    always spend more nats by narrowing its posterior (β below 1), so even a C above what a β = 1 VAE spends
    is reached; below, β stops at its bound (20), which leaves C = 1 about 1.4 nats short."""
    groups = _complete("capacity-dsprites", "capacity")
    for c, rows in groups.items():
        assert abs(rows[0][1]["rate"] - c) <= 1.5, (c, rows[0][1]["rate"])


def test_the_shipped_capacity_models_let_the_factors_in_in_burgess_order():
    """Lesson 4's order: position (x and y) gets half its entropy into one latent at a final C no larger than
    scale does, and scale (which must get there at some C) no later than shape and orientation."""
    from course_lib.reference import views
    order = dict(views.factor_order(_complete("capacity-dsprites", "capacity")))
    c = {f: float("inf") if v is None else v for f, v in order.items()}
    assert c["scale"] < float("inf") and max(c["x"], c["y"]) <= c["scale"] <= min(c["shape"], c["orientation"]), order


def _recorded(name):
    """{model name: recorded metrics} of a recipe whose models have all landed (else the test is skipped)."""
    from course_lib import reference
    if not reference.shipped(name):
        pytest.fail(f"not every model of {name} is recorded in the manifest (python -m course_lib.reference list): "
                    "the course ships all of them")
    recipe = reference.get_recipe(name)
    models = reference.read_manifest()["models"]
    return recipe, {m: models[f"{name}/{m}"]["metrics"] for m in recipe.members}


def test_lesson_3s_shipped_sweep_spends_fewer_nats_as_beta_grows_and_never_more_information_than_rate():
    """Lesson 3 on its reference sweep: the rate falls and the distortion rises with β, and the estimated
    I_q(X; Z) stays at or below the rate for every model (the lesson asserts the last)."""
    recipe, metrics = _recorded("fashion-beta-sweep")
    ordered = sorted(metrics, key=lambda m: recipe.members[m]["beta"])
    rates = [metrics[m]["rate"] for m in ordered]
    distortions = [metrics[m]["distortion"] for m in ordered]
    assert all(a > b for a, b in zip(rates, rates[1:])), rates
    assert all(a < b for a, b in zip(distortions, distortions[1:])), distortions
    assert all(metrics[m]["information"] <= metrics[m]["rate"] for m in ordered)


def test_lesson_8bs_shipped_infogans_let_the_code_decide_the_mode_only_when_its_information_counts():
    """λ = 0 leaves the code ignored; λ = 1 makes it pick the mode: purity and I(c; mode) grow with λ."""
    recipe, metrics = _recorded("toy-infogans")
    ordered = sorted(metrics, key=lambda m: recipe.members[m]["lam"])
    purity = [metrics[m]["purity"] for m in ordered]
    information = [metrics[m]["I(c; mode)"] for m in ordered]
    assert all(a < b for a, b in zip(purity, purity[1:])), purity
    assert all(a < b for a, b in zip(information, information[1:])), information


def test_lesson_1s_shipped_vaes_bounds_tighten_with_k():
    """IWAE_k can only rise with k in expectation (Burda et al., 2016); the recorded bounds of lesson 1's VAE,
    on the same 1,000 test images, do."""
    _, metrics = _recorded("fashion-vae")
    v = metrics["vae"]
    assert v["iwae k1"] < v["iwae k8"] < v["iwae k64"], v


@pytest.mark.parametrize("name", ["fashion-hierarchical", "fashion-free-bits", "fashion-flat-vaes",
                                  "fashion-flow-vaes"])
def test_lessons_5_and_7bs_shipped_models_iwae_bound_lies_above_their_elbo(name):
    """IWAE with many draws is the tighter bound on log p(x): it lies above each model's ELBO (lessons 5, 7b)."""
    _, metrics = _recorded(name)
    for m, v in metrics.items():
        assert v["iwae"] > v["elbo"], (name, m, v)


def test_lesson_2s_shipped_runs_end_lower_the_noisier_their_encoder_gradient():
    """Same model, batches and steps: the pathwise estimator ends with the highest test ELBO, the score function
    with a baseline next, the plain score function last, far behind (lesson 2's curves, on its shipped runs)."""
    _, metrics = _recorded("fashion-estimators")
    elbo = {m: v["iwae k1"] for m, v in metrics.items()}
    assert elbo["pathwise"] > elbo["score-function-baseline"] > elbo["score-function"], elbo


def test_lesson_4s_shipped_cases_settle_where_the_capacity_objective_says():
    """D + γ|R − C| with C = 0 is a β-VAE with β = γ: γ = 20 keeps less rate than the plain VAE and γ = 0.5
    more; a C beyond reach rewards rate, so C = 200 spends more than the plain VAE; ControlVAE holds the KL
    near its set point (within 1 nat on the lesson's sprites)."""
    _, cases = _recorded("sprites-cases")
    rate = {m: v["rate"] for m, v in cases.items()}
    assert rate["C0-gamma20"] < rate["plain"] < rate["C0-gamma0.5"] < rate["C200-gamma20"], rate
    recipe, control = _recorded("sprites-control-vae")
    assert abs(control["control"]["rate"] - recipe.members["control"]["set_point"]) < 1.0, control


def test_lesson_7s_shipped_couplings_fit_better_with_depth():
    """More affine couplings, a lower test NLL on each toy (lesson 7's Real NVP flows)."""
    recipe, metrics = _recorded("toy-couplings")
    for toy in {member["toy"] for member in recipe.members.values()}:
        ordered = sorted((member["depth"], metrics[m]["test nll"]) for m, member in recipe.members.items()
                         if member["toy"] == toy)
        nll = [v for _, v in ordered]
        assert all(a > b for a, b in zip(nll, nll[1:])), (toy, ordered)


def test_lesson_8s_shipped_vae_has_a_tighter_bound_with_more_samples():
    _, metrics = _recorded("fashion-ais-vae")
    assert metrics["vae"]["iwae k1"] < metrics["vae"]["iwae k64"], metrics


def test_lesson_8bs_shipped_bigan_cycles_beat_a_constant_guess_but_are_no_inverses():
    """E(G(z)) and G(E(x)) closer than guessing the mean: below z's variance (1) and the test points' variance
    (what the lesson's dotted lines show), yet far from the zero of the global optimum (lesson 8b reads them as
    related, not inverse)."""
    from course_lib.lessons import hybrids
    _, metrics = _recorded("toy-bigan")
    data_variance = float(hybrids.toy_data()[1].var(0).mean())
    v = metrics["bigan"]
    assert 0.05 < v["latent cycle error"] < 1.0 and 0.05 < v["data cycle error"] < data_variance, (v, data_variance)
