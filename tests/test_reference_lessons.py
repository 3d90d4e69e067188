"""The reference models of lessons 1, 3, 5, 6, 7b and 8b are the models the lessons themselves train in full mode: the
same weights from a recipe (with few steps) as from the lesson's cached functions, handed to the lesson in
the same shapes, and measured as the lesson measures them."""
import dataclasses

import pytest
import torch

from course_lib import reference
from course_lib.data.fashion_mnist import load_shipped_subset
from course_lib.device import get_device
from course_lib.errors import CourseInputError
from course_lib.lessons import flow_vae, hierarchical, rate_distortion, wae
from course_lib.lessons import hybrids as lesson

STEPS = 3


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _recipe_models(name, members=None):
    recipe = reference.get_recipe(name).with_training(steps=STEPS)
    if members:
        recipe = recipe.with_members(members)
    # The lesson's functions train on the default device (the emulated GPU in CI's second pass), so the recipe
    # trains there too: the same device, the same arithmetic, the same weights.
    trained = recipe.train(recipe, get_device(), False)
    return recipe, {m: value[0] for m, value in trained.items()}


def test_the_infogan_recipe_trains_what_the_lesson_trains():
    _recipe, models = _recipe_models("toy-infogans", ["lam0.1"])
    x, _ = lesson.toy_data()
    (own, _), = lesson.train_infogans(x, STEPS, lams=[0.1])
    assert _same_weights(models["lam0.1"], own)


def test_the_question7_recipe_trains_what_the_lesson_trains():
    recipe, models = _recipe_models("toy-three-models")
    own = lesson.train_three_models(lesson.toy_data()[0], STEPS)
    shaped = recipe.as_lesson(models)
    assert list(shaped) == list(own) == list(lesson.THREE_MODELS)
    for name in own:
        assert _same_weights(shaped[name][0], own[name][0]), name


def test_the_question8_recipe_trains_what_the_lesson_trains():
    """Seed 0 (the names the models were first trained under) and a later seed, whose own batches differ."""
    _recipe, models = _recipe_models("toy-unified", ["unified", "consistency-seed1"])
    x = lesson.toy_data()[0]
    name = "unified (flow + adv. + consistency)"
    own = lesson.train_unified_parts(x, STEPS, parts={name: lesson.UNIFIED_PARTS[name]}, seeds=(0,))
    assert _same_weights(models["unified"], own[name, 0][0])
    own = lesson.train_unified_parts(x, STEPS, parts={"consistency": lesson.UNIFIED_PARTS["consistency"]}, seeds=(1,))
    assert _same_weights(models["consistency-seed1"], own["consistency", 1][0])
    assert not _same_weights(models["consistency-seed1"], models["unified"])
    shaped = reference.get_recipe("toy-unified").as_lesson(dict.fromkeys(reference.get_recipe("toy-unified").members))
    assert set(shaped) == {(name, seed) for name in lesson.UNIFIED_PARTS for seed in lesson.UNIFIED_SEEDS}


def test_the_infogans_come_back_in_the_lessons_order_of_lambda():
    recipe = reference.get_recipe("toy-infogans")
    shaped = recipe.as_lesson({m: m for m in recipe.members}, {m: f"history of {m}" for m in recipe.members})
    assert shaped == [(f"lam{lam:g}", f"history of lam{lam:g}") for lam in lesson.INFO_LAMS]


def test_the_continuous_infogan_recipe_trains_what_the_lesson_trains():
    _recipe, models = _recipe_models("toy-infogan-continuous")
    x, _ = lesson.toy_data()
    own, _ = lesson.train_continuous_infogan(x, STEPS)
    assert _same_weights(models["continuous"], own)
    shaped = reference.get_recipe("toy-infogan-continuous").as_lesson({"continuous": "model"}, {"continuous": "history"})
    assert shaped == ("model", "history")


def test_the_toy_recipes_measure_what_the_lesson_prints():
    """The metrics a recipe records are the numbers the lesson's own functions compute on the same model."""
    recipe, models = _recipe_models("toy-three-models", ["vae"])
    x_test = lesson.toy_data()[1][:recipe.training["test"]]
    metrics = recipe.measure(models["vae"], recipe.members["vae"], recipe.training)
    rows, _ = lesson.question7({"VAE": models["vae"]}, x_test, k=1000)
    assert metrics == {"sample MMD²": rows["VAE"]["sample MMD²"],
                       "test log-likelihood": rows["VAE"]["test log-likelihood (nats)"]}


def test_the_beta_sweep_recipe_trains_what_lesson_3_trains():
    _recipe, models = _recipe_models("fashion-beta-sweep", ["beta0.05", "beta4"])
    own = rate_distortion.train_beta_sweep(load_shipped_subset(), STEPS, betas=[0.05, 4.0])
    shaped = reference.get_recipe("fashion-beta-sweep").as_lesson(
        {m: models.get(m) for m in reference.get_recipe("fashion-beta-sweep").members})
    assert len(shaped) == len(rate_distortion.BETAS)
    assert _same_weights(models["beta0.05"], own[0][0]) and _same_weights(models["beta4"], own[1][0])
    assert shaped[rate_distortion.BETAS.index(4.0)][0] is models["beta4"]


def test_the_wae_recipes_train_what_lesson_6_trains():
    _recipe, models = _recipe_models("fashion-wae", ["wae-gan", "vae"])
    x = load_shipped_subset().x_train
    own = wae.train_models(x, STEPS)
    shaped = reference.get_recipe("fashion-wae").as_lesson(
        {m: models.get(m) for m in reference.get_recipe("fashion-wae").members})
    assert list(shaped) == list(own) == list(wae.MODELS)
    assert _same_weights(shaped["WAE-GAN"][0], own["WAE-GAN"][0]) and _same_weights(shaped["VAE"][0], own["VAE"][0])
    _recipe, models = _recipe_models("fashion-wae-lambda", ["lam1", "lam100"])
    own = wae.train_lambda_sweep(x, STEPS, values=[1.0, 100.0])
    assert _same_weights(models["lam1"], own[0][0]) and _same_weights(models["lam100"], own[1][0])


def test_the_two_latent_recipe_trains_what_lessons_1_and_6_train():
    _recipe, models = _recipe_models("fashion-2d-latents", ["vae", "wae"])
    own = wae.train_2d_models(load_shipped_subset().x_train, STEPS)
    shaped = reference.get_recipe("fashion-2d-latents").as_lesson(models)
    assert list(shaped) == list(own) == list(wae.MODELS_2D)
    assert all(_same_weights(shaped[name][0], own[name][0]) for name in own)


def test_the_hierarchical_recipes_train_what_lesson_5_trains():
    x = load_shipped_subset().x_train
    _recipe, models = _recipe_models("fashion-hierarchical", ["ladder-L2", "bottom_up-L3"])
    own = hierarchical.train_variants(x, STEPS)
    members = reference.get_recipe("fashion-hierarchical").members
    assert set(reference.get_recipe("fashion-hierarchical").as_lesson(dict.fromkeys(members),
                                                                       dict.fromkeys(members))) == set(own)
    assert _same_weights(models["ladder-L2"], own[("ladder", 2)][0])
    assert _same_weights(models["bottom_up-L3"], own[("bottom_up", 3)][0])
    _recipe, models = _recipe_models("fashion-free-bits", ["fb0.5", "fb2"])
    sweep = hierarchical.train_free_bits_sweep(x, STEPS, values=[0.5, 2.0])
    assert _same_weights(models["fb0.5"], sweep[0][0]) and _same_weights(models["fb2"], sweep[1][0])
    _recipe, models = _recipe_models("fashion-flat-vaes", ["flat-ladder"])
    flats = hierarchical.train_flats(x, own, STEPS)
    assert set(flats) == set(reference.get_recipe("fashion-flat-vaes").as_lesson(
        dict.fromkeys(reference.get_recipe("fashion-flat-vaes").members)))
    assert _same_weights(models["flat-ladder"], flats["ladder"][0])


def test_lesson_3_reads_the_recorded_measurements_of_the_shipped_sweep_as_measure_sweep_gives_them(monkeypatch):
    """In full mode lesson 3 prints the manifest's measurements of its shipped β sweep instead of measuring them
    again (--check does that): one model's are what measure_sweep gives on the lesson's images with its k, and
    the lesson measures for itself in fast mode, with retrain, or with other settings."""
    import numpy as np

    from course_lib.reference import views
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    known = views.recorded_beta_sweep(1000, 100)
    assert len(known) == len(rate_distortion.BETAS) and all(set(row) == set(rate_distortion.RECORDED) for row in known)
    model = reference.load("fashion-beta-sweep", members=["beta20"])["beta20"]
    data = load_shipped_subset()
    measured = rate_distortion.measure_sweep([model], data, n_test=1000, k=100)
    read = rate_distortion.measure_sweep([model], data, n_test=1000, k=100, known=[known[-1]])
    for key in rate_distortion.RECORDED:
        assert abs(measured[key][0] - known[-1][key]) <= reference.get_recipe("fashion-beta-sweep").tolerance[key], key
        assert read[key][0] == known[-1][key]
    assert np.array_equal(read["kl_per_latent"], measured["kl_per_latent"]) and read["log_n"] == measured["log_n"]
    assert views.recorded_beta_sweep(1000, 100, retrain=True) is None
    assert views.recorded_beta_sweep(500, 100) is None and views.recorded_beta_sweep(1000, 10) is None
    with pytest.raises(CourseInputError, match="one dict of measurements per model"):
        rate_distortion.measure_sweep([model, model], data, n_test=100, k=2, known=[known[-1]])
    with pytest.raises(CourseInputError, match="each with rate"):
        rate_distortion.measure_sweep([model], data, n_test=100, k=2, known=[{"rate": 1.0}])
    monkeypatch.setenv("COURSE_LIB_FAST", "1")
    assert views.recorded_beta_sweep(1000, 100) is None


def test_lesson_5_reads_the_recorded_evaluations_of_the_shipped_models_as_evaluate_gives_them(monkeypatch):
    """In full mode lesson 5 prints the manifest's measurements of its shipped models instead of measuring
    them again (--check does that): they must be evaluate's numbers, in evaluate's shape, model by model."""
    from course_lib.reference import views
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    rows = views.recorded_evaluations("fashion-hierarchical")
    assert set(rows) == set(reference.get_recipe("fashion-hierarchical").members)
    model = reference.load("fashion-hierarchical", members=["ladder-L3"])["ladder-L3"]
    x_test = hierarchical.binarized(load_shipped_subset().x_test[:2000])     # the lesson's test images and k
    measured = hierarchical.evaluate(model, x_test, k=64)
    assert set(rows["ladder-L3"]) == set(measured) and rows["ladder-L3"]["units"] == measured["units"]
    assert rows["ladder-L3"]["active"] == measured["active"]
    for key in ("elbo", "iwae"):
        assert abs(rows["ladder-L3"][key] - measured[key]) < 0.1, key
    assert max(abs(a - b) for a, b in zip(rows["ladder-L3"]["kl"], measured["kl"])) < 0.05
    assert set(views.recorded_evaluations("fashion-free-bits")) == {f"fb{v:g}" for v in hierarchical.FREE_BITS}
    assert views.recorded_evaluations("fashion-hierarchical", retrain=True) is None
    full = dataclasses.replace(load_shipped_subset(), source="full Fashion-MNIST")
    assert views.recorded_warmup() is not None and views.recorded_warmup(data=full) is None
    assert views.recorded_evaluations("fashion-hierarchical", data=full) is None
    monkeypatch.setenv("COURSE_LIB_FAST", "1")
    assert views.recorded_evaluations("fashion-hierarchical") is None


def test_lesson_7b_reads_the_recorded_tables_of_the_shipped_models_as_its_functions_give_them(monkeypatch):
    """In full mode lesson 7b prints the manifest's bounds and gap tables instead of measuring again: the recipe
    measures with the lesson's settings, and one model's recorded bounds are what bounds gives on the lesson's
    images (the gap table's function runs in the quick check, and in full in --check)."""
    import torch

    from course_lib.data import dynamic_binarize
    from course_lib.reference import views
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    recipe = reference.get_recipe("fashion-flow-vaes")
    assert (recipe.training["test images"], recipe.training["iwae k"]) == (flow_vae.TEST_IMAGES, flow_vae.K_IWAE)
    bounds, gaps = views.recorded_flow_vae_tables()
    assert set(bounds) == {(kind, k) for kind in flow_vae.KINDS for k in flow_vae.FLOW_STEPS}
    assert set(gaps) == {("planar", 0), ("iaf", 0), ("planar", 8), ("iaf", 8)}
    model = reference.load("fashion-flow-vaes", members=["iaf-K2"])["iaf-K2"]
    torch.manual_seed(0)
    x_test = dynamic_binarize(load_shipped_subset().x_test[:flow_vae.TEST_IMAGES])    # as the lesson draws them
    measured = flow_vae.bounds(model, x_test, k_iwae=flow_vae.K_IWAE)
    assert max(abs(a - b) for a, b in zip(bounds["iaf", 2], measured)) < 0.1, (bounds["iaf", 2], measured)
    assert views.recorded_flow_vae_tables(retrain=True) is None
    full_set = dataclasses.replace(load_shipped_subset(), source="full (/data/fashion-mnist)")
    assert views.recorded_flow_vae_tables(data=full_set) is None                  # not the recorded test images
    assert views.recorded_flow_vae_tables(data=load_shipped_subset()) is not None
    monkeypatch.setenv("COURSE_LIB_FAST", "1")
    assert views.recorded_flow_vae_tables() is None


def test_the_flow_vae_recipe_trains_what_lesson_7b_trains():
    _recipe, models = _recipe_models("fashion-flow-vaes", ["gaussian-K0", "iaf-K2"])
    own = flow_vae.train_flow_vaes(load_shipped_subset().x_train, STEPS, flow_steps=(0, 2), kinds=("iaf",))
    assert _same_weights(models["gaussian-K0"], own[("iaf", 0)][0]) and _same_weights(models["iaf-K2"], own[("iaf", 2)][0])
    full = reference.get_recipe("fashion-flow-vaes")
    shaped = full.as_lesson({m: m for m in full.members})
    assert shaped[("planar", 0)][0] == shaped[("iaf", 0)][0] == "gaussian-K0"      # one Gaussian VAE for both
    assert set(shaped) == {(kind, k) for kind in flow_vae.KINDS for k in flow_vae.FLOW_STEPS}


def test_the_lesson_1_recipe_trains_what_its_notebook_trains():
    """The notebook's own VAE: VAE.mlp(latent_dim=16) from seed 0, fit with dynamic binarization and seed 0."""
    import course_lib as cl
    recipe, models = _recipe_models("fashion-vae")
    x = load_shipped_subset().x_train
    torch.manual_seed(0)
    own = cl.VAE.mlp(latent_dim=16)
    history = cl.fit(own, x, steps=STEPS, transform=cl.dynamic_binarize, seed=0, progress=False)
    assert _same_weights(models["vae"], own)
    trained = recipe.train(recipe, get_device(), False)
    assert trained["vae"][2].terms.keys() == history.terms.keys()


def test_the_image_flow_recipe_trains_what_lesson_7b_trains():
    _recipe, models = _recipe_models("fashion-image-flow")
    own, history = flow_vae.train_image_flow(load_shipped_subset().x_train, STEPS)
    assert _same_weights(models["flow"], own) and history.steps


def test_the_posterior_recipe_fits_what_question_6_fits_and_the_lesson_uses_it_as_given():
    recipe, models = _recipe_models("toy-posteriors", ["two-modes-K2"])
    own, gap = flow_vae.fit_posterior("two modes", "planar", 2, STEPS)
    assert _same_weights(models["two-modes-K2"], own)
    trained = reference.get_recipe("toy-posteriors").as_lesson(models)
    assert list(trained) == [("two modes", 2)]
    assert flow_vae.question6(STEPS, depths=(2,), cases=("two modes",), trained=trained) == {("two modes", 2): gap}
    assert recipe.measure(own, recipe.members["two-modes-K2"], recipe.training) == {"gap": gap}


def test_the_ais_vae_recipe_trains_what_lesson_8_trains_and_measures_what_it_prints():
    from course_lib.lessons import divergences
    recipe, models = _recipe_models("fashion-ais-vae")
    x = load_shipped_subset().x_train
    own, _ = divergences.train_vae(x, STEPS)
    assert _same_weights(models["vae"], own)
    vae, history = reference.get_recipe("fashion-ais-vae").as_lesson(models)
    assert vae is models["vae"] and history is None
    torch.manual_seed(1)
    x_test = torch.bernoulli(load_shipped_subset().x_test[:recipe.training["test images"]])
    printed = divergences.iwae_values(own.cpu(), x_test, ks=recipe.training["iwae k"])
    assert recipe.measure(models["vae"].cpu(), recipe.members["vae"], recipe.training) == \
        {f"iwae k{k}": value for k, value in printed.items()}


def test_the_coupling_recipe_fits_what_lesson_7_fits_each_on_its_own_toy():
    from course_lib.lessons import flows
    _recipe, models = _recipe_models("toy-couplings", ["two_moons-x2", "eight_gaussians-x1"])
    own = flows.train_coupling_flows(STEPS, depths=(1, 2))
    shaped = reference.get_recipe("toy-couplings").as_lesson(models)
    assert set(shaped) == {("two_moons", 2), ("eight_gaussians", 1)}
    for key, (flow, history) in shaped.items():
        assert _same_weights(flow, own[key][0]) and history is None, key
    assert not _same_weights(shaped["two_moons", 2][0], own["eight_gaussians", 2][0])   # each toy its own data
    full = reference.get_recipe("toy-couplings")
    assert set(full.as_lesson(dict.fromkeys(full.members))) == \
        {(toy, depth) for toy in flows.TOYS for depth in flows.COUPLING_DEPTHS}


def test_the_bigan_recipe_trains_what_lesson_8b_trains_with_the_history_it_plots():
    bigan = reference.get_recipe("toy-bigan")
    recipe = bigan.with_training(steps=STEPS)
    model, _, history = recipe.train(recipe, get_device(), False)["bigan"]
    x, x_test = lesson.toy_data()
    own, own_history = lesson.train_bigan(x, x_test, STEPS, log_every=bigan.members["bigan"]["log_every"])
    assert _same_weights(model, own)
    assert history.steps == own_history.steps and list(history["latent"]) == list(own_history["latent"])
    assert bigan.as_lesson({"bigan": model}, {"bigan": history}) == (model, history)


def test_the_quickstart_trains_what_lesson_1s_reference_recipe_trains():
    """Notebook 0 opens on ``fashion-vae`` in full mode: its own ``train_here`` (run here from the notebook's
    cell, in fast mode's 60 steps) must give the recipe's weights."""
    import json
    from pathlib import Path

    import course_lib as cl
    cells = json.loads((Path(__file__).parents[1] / "notebooks" / "00_quickstart.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if "def train_here" in "".join(c["source"]))
    namespace = {"cl": cl, "torch": torch, "data": load_shipped_subset(), "device": get_device()}
    exec(source[:source.index("retrain =")], namespace)
    own, history = namespace["train_here"]()
    steps = history.steps[-1]
    recipe = reference.get_recipe("fashion-vae").with_training(steps=steps)
    model, _, _ = recipe.train(recipe, get_device(), False)["vae"]
    assert _same_weights(model, own)


def test_the_estimator_recipe_trains_what_lesson_2_trains_with_the_curves_it_plots():
    from course_lib.lessons import reparam
    estimators = reference.get_recipe("fashion-estimators")
    recipe = estimators.with_training(steps=STEPS).with_members(["score-function-baseline"])
    model, _, history = recipe.train(recipe, get_device(), False)["score-function-baseline"]
    own = reparam.train_with_each_estimator(load_shipped_subset().x_train, STEPS)
    own_model, own_history = own["score function + baseline"]
    assert _same_weights(model, own_model) and not _same_weights(model, own["pathwise"][0])
    assert history.steps == own_history.steps and list(history["elbo"]) == list(own_history["elbo"])
    shaped = estimators.as_lesson({m: m for m in estimators.members}, {m: m for m in estimators.members})
    assert list(shaped) == list(own)


def test_the_lesson_4_case_and_control_recipes_train_what_the_lesson_trains():
    import course_lib as cl
    from course_lib.lessons import beta_vae
    cases = reference.get_recipe("sprites-cases")
    recipe = cases.with_training(steps=STEPS)
    trained = recipe.train(recipe, get_device(), False)
    sprites = cl.make_sprites(cases.training["train"], seed=0)
    own = beta_vae.train_cases(sprites, list(beta_vae.CASES.values()), STEPS)
    shaped = cases.as_lesson({m: model for m, (model, _) in trained.items()})
    assert len(shaped) == len(own) == len(beta_vae.CASES)
    for (model, _), (own_model, _) in zip(shaped, own):
        assert _same_weights(model, own_model)
    assert not _same_weights(shaped[0][0], shaped[-1][0])
    control = reference.get_recipe("sprites-control-vae")
    recipe = control.with_training(steps=STEPS)
    model, _, history = recipe.train(recipe, get_device(), False)["control"]
    member = control.members["control"]
    own_model, own_history = beta_vae.train_control_vae(sprites, member["set_point"], STEPS,
                                                        log_every=member["log_every"])
    assert _same_weights(model, own_model) and list(history["beta"]) == list(own_history["beta"])


def test_the_capacity_figure_draws_every_factor_against_the_rate_reached():
    from course_lib.data.sprites import FACTOR_NAMES
    from course_lib.reference import views
    groups = views.capacity_table(say=lambda line: None)
    fig = views.capacity_figure(groups)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines[:len(FACTOR_NAMES)]] == list(FACTOR_NAMES)
    assert all(len(line.get_xdata()) == len(groups) for line in lines[:len(FACTOR_NAMES)])
    assert list(lines[0].get_xdata()) == sorted(rows[0][1]["rate"] for rows in groups.values())
