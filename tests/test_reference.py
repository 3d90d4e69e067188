"""The reference models: every shipped one is loaded into today's code and measured again; the
manifest, the recipes' identities, the training command and the lessons' use of them."""
import dataclasses
import json
import re

import pytest
import torch

from course_lib import reference
from course_lib.errors import CourseInputError
from course_lib.reference import catalog, store
from course_lib.reference.__main__ import main
from course_lib.reference.recipe import differences

MB = 10 ** 6           # the budgets are in megabytes (issues 30 and 31), not MiB


def test_the_course_ships_reference_models():
    models = reference.read_manifest()["models"]
    assert any(key.startswith("flows-u1-u4/") for key in models)
    assert reference.shipped("flows-u1-u4") and reference.shipped("fashion-classifier")


def test_the_weights_fit_the_budget_and_the_manifest_lists_exactly_the_files_there_are():
    manifest = reference.read_manifest()
    files = {p.relative_to(store.HOME).as_posix() for p in (store.HOME / "weights").rglob("*") if p.is_file()}
    assert files == set(manifest["files"])
    total = sum(record["bytes"] for record in manifest["files"].values())
    assert total <= 40 * MB, f"all shipped weights take {total / MB:.1f} MB, over the course's 40 MB"
    lessons_4_and_8b = [record["bytes"] for file, record in manifest["files"].items()
                        if "dsprites" in file or "vae-gan" in file]
    assert sum(lessons_4_and_8b) <= 30 * MB
    for key, entry in manifest["models"].items():
        if entry["weights"].get("shipped", True):
            assert entry["weights"]["file"] in manifest["files"], key
        else:                                  # metrics kept, weights not shipped
            assert entry["weights"]["file"] not in manifest["files"], key
        assert set(entry["metrics"]) == set(entry["tolerance"]), key
        assert entry["trained"]["seconds"] > 0 and entry["trained"]["device"], key


def test_the_weights_that_ship_are_those_each_recipe_chooses_on_its_recorded_metrics():
    """A recipe that ships some weights (a β's median seed) chose them on the recorded metrics: were those
    changed afterwards, a lesson would ask for a median model whose weights are not there."""
    models = reference.read_manifest()["models"]
    for name, recipe in catalog.recipes().items():
        recorded = {m: models[f"{name}/{m}"] for m in recipe.members if f"{name}/{m}" in models}
        if recipe.ships is None or not recorded:
            continue
        chosen = set(recipe.ships({m: e["metrics"] for m, e in recorded.items()}, recipe.members)) & set(recorded)
        assert chosen == {m for m, e in recorded.items() if e["weights"].get("shipped", True)}, name


def test_every_shipped_model_was_trained_by_the_recipe_in_the_code():
    models = reference.read_manifest()["models"]
    assert len(models) > 100, f"the manifest lists only {len(models)} models"
    for key, entry in models.items():
        name, member = key.split("/")
        assert differences(entry["identity"], reference.get_recipe(name).identity(member)) == [], key


def test_a_changed_recipe_is_refused_and_the_message_says_what_changed(monkeypatch):
    recipe = reference.get_recipe("flows-u1-u4")
    changed = recipe.with_training(steps=12345)
    original = catalog.recipes()
    monkeypatch.setattr(catalog, "recipes", lambda: {**original, changed.name: changed})
    expected = re.escape(f"training.steps: {recipe.training['steps']} -> 12345")
    with pytest.raises(reference.ReferenceProblem, match=expected) as e:
        reference.load("flows-u1-u4")
    assert "python -m course_lib.reference train flows-u1-u4" in str(e.value)


def test_a_recipe_that_ships_nothing_says_how_to_train_it(tmp_path):
    with pytest.raises(reference.ReferenceProblem, match="a CPU will do") as e:
        reference.load("beta-vae-dsprites", folder=tmp_path)
    assert "python -m course_lib.reference train beta-vae-dsprites" in str(e.value)
    with pytest.raises(reference.ReferenceProblem, match="on a GPU"):
        reference.load("beta-vae-dsprites-64", folder=tmp_path)
    with pytest.raises(CourseInputError, match="no reference recipe 'flows'"):
        reference.load("flows")


def _quick_stand_in(recipe):
    """A stand-in whose quick slice is half its own test data (the course's slices are larger than a stand-in's
    whole test data): the quick check still measures something other than the full one."""
    return dataclasses.replace(recipe, quick={k: max(1, recipe.training[k] // 2) if k in recipe.training else v
                                              for k, v in recipe.quick.items()})


def _stand_ins():
    """Small versions of every recipe (a few steps, a few models), trained in seconds on the CPU."""
    return {name: _quick_stand_in(recipe) for name, recipe in _small_recipes().items()}


def _small_recipes():
    r = {name: reference.get_recipe(name) for name in catalog.recipes()}
    small = {"train": 64, "test": 64, "steps": 2, "batch_size": 16}
    return {
        "flows-u1-u4": r["flows-u1-u4"].with_training(steps=20, ramp_steps=10, seeds=[0, 1]).with_members(
            ["planar-K2-u1", "radial-K1-u3"]),
        "fashion-classifier": r["fashion-classifier"].with_training(steps=20),
        "beta-vae-dsprites": r["beta-vae-dsprites"].with_training(**small).with_members(
            ["beta1-seed0", "beta4-seed0", "beta4-seed1", "beta4-seed2"]),
        "beta-tcvae-dsprites": r["beta-tcvae-dsprites"].with_training(**small).with_members(["beta4-seed0"]),
        "capacity-dsprites": r["capacity-dsprites"].with_training(**small, ramp_steps=1).with_members(["C5"]),
        "fashion-vae-gan": r["fashion-vae-gan"].with_training(steps=2, batch_size=16, samples=200),
        "fashion-beta-sweep": r["fashion-beta-sweep"].with_training(steps=2, **{"test images": 50, "iwae k": 4})
        .with_members(["beta0.05", "beta1"]),
        "fashion-wae": r["fashion-wae"].with_training(steps=2, **{"test images": 40}),
        "fashion-wae-lambda": r["fashion-wae-lambda"].with_training(steps=2, **{"test images": 40})
        .with_members(["lam0.1", "lam100"]),
        **{name: r[name].with_training(steps=2, **{"test images": 30, "iwae k": 4})
           for name in ("fashion-hierarchical", "fashion-free-bits", "fashion-flat-vaes")},
        "fashion-vae": r["fashion-vae"].with_training(steps=2, **{"test images": 20}),
        "toy-posteriors": r["toy-posteriors"].with_training(steps=2).with_members(["two-modes-K2", "logistic-K0"]),
        "fashion-image-flow": r["fashion-image-flow"].with_training(steps=2, **{"test images": 20}),
        "fashion-flow-vaes": r["fashion-flow-vaes"].with_training(steps=2, **{"test images": 20, "iwae k": 4,
                                                                              "gap images": 2, "gap steps": 2})
        .with_members(["gaussian-K0", "iaf-K2"]),
        **{name: r[name].with_training(steps=2, train=200, test=100)
           for name in ("toy-infogans", "toy-three-models", "toy-bigan")},
        "toy-unified": r["toy-unified"].with_training(steps=2, train=200, test=100).with_members(
            ["unified", "vae-seed1"]),                  # one that ships (seed 0) and one that does not
        "fashion-ais-vae": r["fashion-ais-vae"].with_training(steps=2, **{"test images": 20}),
        "fashion-estimators": r["fashion-estimators"].with_training(steps=2, **{"test images": 20})
        .with_members(["pathwise", "score-function"]),
        "toy-couplings": r["toy-couplings"].with_training(steps=2, train=200).with_members(["two_moons-x2"]),
        **{name: r[name].with_training(steps=2, train=200, test=100)
           for name in ("sprites-cases", "sprites-control-vae")},
    }


def _copy_folder(folder, target):
    """A copy of a trained stand-in folder (manifest and weights) that a test may change."""
    for path in folder.rglob("*"):
        if path.is_file():
            (target / path.relative_to(folder)).parent.mkdir(parents=True, exist_ok=True)
            (target / path.relative_to(folder)).write_bytes(path.read_bytes())


@pytest.fixture(scope="module")
def trained_stand_ins(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    recipes = _stand_ins()
    lines = []
    written = reference.train(list(recipes), folder, device="cpu", progress=False, say=lines.append,
                              recipe_overrides=recipes)
    return folder, recipes, written, lines


def test_train_writes_weights_and_a_manifest_that_check_then_accepts(trained_stand_ins):
    folder, recipes, written, lines = trained_stand_ins
    assert len(written) == sum(len(r.members) for r in recipes.values())
    manifest = reference.read_manifest(folder)
    assert set(manifest["models"]) == set(written)
    for key, entry in manifest["models"].items():
        assert entry["weights"]["dtype"] in ("int8", "float16", "float32")
        assert entry["identity"] == recipes[key.split("/")[0]].identity(key.split("/")[1])
    assert "mig" in manifest["models"]["beta-vae-dsprites/beta4-seed1"]["metrics"]
    assert "feature distance" in manifest["models"]["fashion-vae-gan/vae-gan"]["metrics"]
    assert any("planar-K2-u1" in line and "kl" in line for line in lines)      # a line per model
    assert catalog.check(folder=folder, say=lambda line: None, recipe_overrides=recipes) == []
    quick = [key for key in written if recipes[key.split("/")[0]].quick]
    assert quick and all(set(manifest["models"][k][catalog.QUICK]) == set(manifest["models"][k]["metrics"])
                         for k in quick)
    assert catalog.check(folder=folder, say=lambda line: None, recipe_overrides=recipes, quick=True) == []


def test_requantize_stores_in_int8_the_float16_models_whose_metrics_int8_keeps(trained_stand_ins, tmp_path):
    """Models stored in float16 before int8 was tried: requantize moves to int8 those whose re-measured metrics
    stay within their tolerances, keeps the others in float16, records the change either way, and check
    then accepts every model."""
    import torch
    folder, recipes, _, _ = trained_stand_ins
    _copy_folder(folder, tmp_path)
    manifest = store.read_manifest(tmp_path)
    keys = ["fashion-ais-vae/vae", "toy-bigan/bigan"]
    for key in keys:                                  # as a model stored before int8 existed
        entry = manifest["models"][key]
        file = entry["weights"]["file"]
        states = store.load_weights(file, manifest["files"][file], tmp_path)
        manifest["files"][file] = record = store.save_weights(states, file, tmp_path, torch.float16)
        entry["weights"].update(dtype="float16", sha256=record["sha256"])
        entry["weights"].pop("int8 change")
    manifest["models"]["toy-bigan/bigan"]["tolerance"] = dict.fromkeys(manifest["models"]["toy-bigan/bigan"]["tolerance"], 0.0)
    store.write_manifest(manifest, tmp_path)
    before = store.read_manifest(tmp_path)["files"]["weights/fashion-ais-vae/vae.pt"]["bytes"]
    tried = catalog.requantize(folder=tmp_path, say=lambda line: None, recipe_overrides=recipes)
    assert tried == {"fashion-ais-vae/vae": "int8", "toy-bigan/bigan": "float16"}
    after = store.read_manifest(tmp_path)
    assert after["files"]["weights/fashion-ais-vae/vae.pt"]["bytes"] < 0.6 * before
    assert all("int8 change" in after["models"][k]["weights"] for k in keys)
    assert all(after["models"][k]["metrics"] == manifest["models"][k]["metrics"] for k in keys)   # as recorded
    assert catalog.requantize(folder=tmp_path, say=lambda line: None, recipe_overrides=recipes) == {}  # done once
    assert catalog.check(["fashion-ais-vae"], folder=tmp_path, say=lambda line: None, recipe_overrides=recipes) == []


def test_requantize_records_the_quick_metrics_of_the_weights_it_stores(trained_stand_ins, tmp_path):
    """A model moved to int8 is quick-measured as stored now: the quick check still agrees."""
    import torch
    folder, recipes, _, _ = trained_stand_ins
    _copy_folder(folder, tmp_path)
    manifest, key = store.read_manifest(tmp_path), "fashion-wae-lambda/lam0.1"
    entry = manifest["models"][key]
    file = entry["weights"]["file"]
    states = store.load_weights(file, manifest["files"][file], tmp_path)
    manifest["files"][file] = record = store.save_weights(states, file, tmp_path, torch.float16)
    for e in manifest["models"].values():
        if e["weights"]["file"] == file:
            e["weights"].update(dtype="float16", sha256=record["sha256"])
            e["weights"].pop("int8 change", None)
            e["tolerance"] = dict.fromkeys(e["tolerance"], 10.0)     # so that int8 is kept
            e[catalog.QUICK] = dict.fromkeys(e[catalog.QUICK], -1.0)  # as the float16 weights' quick metrics were not
    store.write_manifest(manifest, tmp_path)
    assert catalog.requantize(["fashion-wae-lambda"], folder=tmp_path, say=lambda line: None,
                              recipe_overrides=recipes)[key] == "int8"
    recipe = recipes["fashion-wae-lambda"].with_members(["lam0.1"])
    as_stored = catalog.quick_metrics(recipe, reference.load("fashion-wae-lambda", tmp_path, recipe=recipe))
    assert store.read_manifest(tmp_path)["models"][key][catalog.QUICK] == as_stored["lam0.1"]    # the int8 weights'
    assert catalog.check(["fashion-wae-lambda"], folder=tmp_path, say=lambda line: None, recipe_overrides=recipes,
                         quick=True) == []


def test_the_quick_check_names_a_changed_quick_metric_and_one_never_recorded(trained_stand_ins, tmp_path, capsys):
    """The quick check compares with the quick metrics: a changed one is named (marked [quick]); a model with none
    is told how to record them, and record_quick records them only after a full check agrees."""
    folder, recipes, _, _ = trained_stand_ins
    _copy_folder(folder, tmp_path)
    manifest = store.read_manifest(tmp_path)
    manifest["models"]["fashion-wae/vae"][catalog.QUICK]["squared error"] += 5.0
    del manifest["models"]["fashion-beta-sweep/beta1"][catalog.QUICK]
    store.write_manifest(manifest, tmp_path)
    say, names = (lambda line: None), ["fashion-wae", "fashion-beta-sweep"]
    assert catalog.check(names, folder=tmp_path, say=say, recipe_overrides=recipes) == []    # the full metrics agree
    problems = catalog.check(names, folder=tmp_path, say=say, recipe_overrides=recipes, quick=True)
    assert len(problems) == 2
    assert problems[0].startswith("fashion-wae/vae: squared error recorded") and problems[0].endswith("[quick]")
    assert problems[1] == ("fashion-beta-sweep/beta1: no quick metrics recorded (python -m course_lib.reference "
                           "record-quick fashion-beta-sweep records them, after a full check)")
    manifest = store.read_manifest(tmp_path)
    manifest["models"]["fashion-beta-sweep/beta0.05"]["metrics"]["rate"] += 5.0           # a full check that fails
    store.write_manifest(manifest, tmp_path)
    found = catalog.record_quick(["fashion-beta-sweep"], folder=tmp_path, say=say, recipe_overrides=recipes)
    assert len(found) == 1 and "beta0.05: rate recorded" in found[0]
    assert catalog.QUICK not in store.read_manifest(tmp_path)["models"]["fashion-beta-sweep/beta1"]
    manifest["models"]["fashion-beta-sweep/beta0.05"]["metrics"]["rate"] -= 5.0
    store.write_manifest(manifest, tmp_path)
    assert catalog.record_quick(names, folder=tmp_path, say=say, recipe_overrides=recipes) == []
    assert catalog.check(names, folder=tmp_path, say=say, recipe_overrides=recipes, quick=True) == []
    assert main(["--quick"]) == 2 and "--quick goes with --check" in capsys.readouterr().err


def test_numbers_measured_with_other_settings_than_the_codes_are_refused(trained_stand_ins, tmp_path, monkeypatch):
    """A recipe's quick slice, or a measurement setting outside its training settings (the gap table's steps),
    changed since the numbers were recorded: check names the setting and the command that records them again,
    instead of blaming the model."""
    folder, recipes, _, _ = trained_stand_ins
    _copy_folder(folder, tmp_path)
    say, flows = (lambda line: None), recipes["fashion-flow-vaes"]
    entry = store.read_manifest(tmp_path)["models"]["fashion-flow-vaes/gaussian-K0"]
    assert entry[catalog.MEASURED_WITH] == flows.measured_with() and entry[catalog.QUICK_SETTINGS] == flows.quick
    wider = {**recipes, "fashion-flow-vaes": dataclasses.replace(flows, quick={**flows.quick, "test images": 3})}
    problems = catalog.check(["fashion-flow-vaes"], folder=tmp_path, say=say, recipe_overrides=wider, quick=True)
    assert problems and all("quick settings are" in p and "record-quick fashion-flow-vaes" in p for p in problems)
    assert catalog.check(["fashion-flow-vaes"], folder=tmp_path, say=say, recipe_overrides=wider) == []   # full: fine
    other = {**recipes, "fashion-flow-vaes": dataclasses.replace(flows, measured_with=lambda: {"gap steps": 1})}
    problems = catalog.check(["fashion-flow-vaes"], folder=tmp_path, say=say, recipe_overrides=other)
    assert problems and all("but the code measures with {'gap steps': 1}" in p and "remeasure" in p for p in problems)
    from course_lib.lessons import flow_vae as flow_lesson
    from course_lib.reference import flow_vae as flow_recipe
    real = flow_lesson.amortization_gap

    def other_rate(model, x, steps=200, lr=0.01, k=8, k_elbo=64, k_iwae=1024):   # a changed default learning rate
        return real(model, x, steps, lr, k, k_elbo, k_iwae)
    monkeypatch.setattr(flow_lesson, "amortization_gap", other_rate)
    assert flow_recipe.gap_settings()["gap lr"] == 0.01
    problems = catalog.check(["fashion-flow-vaes"], folder=tmp_path, say=say, recipe_overrides=recipes)
    assert problems and all("'gap lr': 0.01" in p and "remeasure" in p for p in problems)


def test_remeasure_records_what_todays_measurement_gives_and_why(trained_stand_ins, tmp_path):
    """When a lesson changes how it measures (not how it trains), remeasure records the new numbers of the same
    weights, with the date, the reason and what changed; check then agrees; a reason is required."""
    folder, recipes, _, _ = trained_stand_ins
    _copy_folder(folder, tmp_path)
    manifest = store.read_manifest(tmp_path)
    key, recipe = "fashion-beta-sweep/beta1", recipes["fashion-beta-sweep"]
    true_value = manifest["models"][key]["metrics"]["probe_accuracy"]
    manifest["models"][key]["metrics"]["probe_accuracy"] = -1.0          # as if measured another way before
    store.write_manifest(manifest, tmp_path)
    assert catalog.check(["fashion-beta-sweep"], folder=tmp_path, say=lambda line: None, recipe_overrides=recipes)
    from course_lib.errors import CourseInputError
    with pytest.raises(CourseInputError, match="why must say"):
        catalog.remeasure("fashion-beta-sweep", " ", folder=tmp_path, say=lambda line: None, recipe=recipe)
    notes = catalog.remeasure("fashion-beta-sweep", "the probe's protocol", folder=tmp_path, say=lambda line: None,
                              recipe=recipe)
    assert notes["beta1"]["probe_accuracy"] == [-1.0, true_value]
    entry = store.read_manifest(tmp_path)["models"][key]
    assert entry["metrics"]["probe_accuracy"] == true_value and entry["remeasured"][-1]["why"] == "the probe's protocol"
    assert catalog.check(["fashion-beta-sweep"], folder=tmp_path, say=lambda line: None, recipe_overrides=recipes) == []
    assert catalog.check(["fashion-beta-sweep"], folder=tmp_path, say=lambda line: None, recipe_overrides=recipes,
                         quick=True) == []


def test_check_names_a_model_whose_metric_no_longer_matches(trained_stand_ins, tmp_path, capsys):
    folder, recipes, _, _ = trained_stand_ins
    _copy_folder(folder, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["models"]["flows-u1-u4/radial-K1-u3"]["metrics"]["kl"] += 0.5
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    problems = catalog.check(folder=tmp_path, say=lambda line: None, recipe_overrides=recipes)
    assert len(problems) == 1 and "flows-u1-u4/radial-K1-u3: kl recorded" in problems[0]
    # the command exits 1 and names what does not match (here the stand-ins' recipes are not the course's)
    assert main(["--check", "--folder", str(tmp_path)]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_damaged_weights_are_refused(trained_stand_ins, tmp_path):
    folder, recipes, _, _ = trained_stand_ins
    (tmp_path / "weights").mkdir()
    (tmp_path / "manifest.json").write_bytes((folder / "manifest.json").read_bytes())
    data = bytearray((folder / "weights" / "flows-u1-u4.pt").read_bytes())
    data[-100] ^= 0xFF
    (tmp_path / "weights" / "flows-u1-u4.pt").write_bytes(bytes(data))
    with pytest.raises(reference.ReferenceProblem, match="SHA-256"):
        reference.load("flows-u1-u4", folder=tmp_path, recipe=recipes["flows-u1-u4"])


def test_or_train_loads_in_full_mode_and_trains_in_fast_mode_or_when_asked(monkeypatch, capsys):
    calls = []

    def train():
        calls.append(1)
        return "trained here"

    monkeypatch.setenv("COURSE_LIB_FAST", "1")
    assert reference.or_train("flows-u1-u4", train) == "trained here"
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    loaded = reference.or_train("flows-u1-u4", train)
    assert ("planar", "u1", 32) in loaded and loaded["planar", "u1", 32][1] is None
    assert "Loaded the course's reference models 'flows-u1-u4'" in capsys.readouterr().out
    assert reference.or_train("flows-u1-u4", train, retrain=True) == "trained here"
    assert len(calls) == 2


def test_or_train_trains_and_says_so_when_the_course_ships_none(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    assert reference.or_train("beta-vae-dsprites", lambda: "small ones", folder=tmp_path) == "small ones"
    out = capsys.readouterr().out
    assert "No reference models 'beta-vae-dsprites' ship with the course yet" in out
    assert "python -m course_lib.reference train beta-vae-dsprites" in out


def test_the_list_command_names_every_recipe(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in catalog.recipes():
        assert name in out


def test_train_refuses_an_unknown_name_before_training(capsys):
    assert main(["train", "no-such-recipe"]) == 2
    assert "no reference recipe 'no-such-recipe'" in capsys.readouterr().err


def test_weights_go_to_int8_or_float16_only_where_no_metric_moves(trained_stand_ins):
    """int8 (a scale per row) is tried first, int8 with a scale per run of 64 only where that moved a metric too
    far, float16 after both: every round trip measured is recorded, and the dtype kept is the first that holds."""
    folder, _recipes, _, _ = trained_stand_ins
    records = {"float16": "fp16 change", "int8": "int8 change", "int8/64": "int8/64 change"}
    models = reference.read_manifest(folder)["models"]
    assert models, "the stand-ins wrote no model into their manifest"
    for key, entry in models.items():
        weights = entry["weights"]

        def holds(dtype):
            change = weights[records[dtype]]
            assert set(change) == set(entry["metrics"]), key
            return all(change[k] <= entry["tolerance"][k] + 1e-9 for k in change)

        assert ("int8/64 change" in weights) == (not holds("int8")), key      # measured only where int8 failed
        order = ["int8", "int8/64", "float16"]
        kept = weights["dtype"]
        for dtype in order[:order.index(kept) if kept in order else 3]:
            assert not holds(dtype), (key, dtype)                            # every earlier one moved a metric
        if kept in order:
            assert holds(kept), key


def test_storage_rounding_is_measured_not_assumed():
    model = torch.nn.Linear(3, 3)
    rounded = catalog._as_stored(model, torch.float16)
    assert torch.equal(rounded.weight, model.weight.half().float())
    assert not torch.equal(rounded.weight, model.weight)
    quantized = catalog._as_stored(model, torch.int8)
    scale = model.weight.detach().abs().amax(1, keepdim=True) / 127
    assert (quantized.weight - model.weight).abs().le(scale * 0.51 + 1e-6).all()    # half a step, fp16 scale
    assert torch.equal(quantized.bias, model.bias.half().float())                  # vectors stay float16


def test_int8_with_a_scale_per_run_of_64_rounds_each_run_to_half_its_own_step():
    torch.manual_seed(0)
    w = torch.randn(6, 150)
    w[0, 3] = 50.0                                                       # one large weight in row 0's first run
    packed = store.quantize_int8(w, grouped=True)
    assert packed["scale"].shape == (6, 3) and packed["q"].shape == w.shape
    back = store.dequantize_int8(packed)
    for run in range(3):
        part = slice(64 * run, 64 * (run + 1))
        step = w[:, part].abs().amax(1, keepdim=True) / 127
        assert (back[:, part] - w[:, part]).abs().le(step * 0.51 + 1e-6).all(), run
    per_row = store.dequantize_int8(store.quantize_int8(w))
    assert (back[0, 64:] - w[0, 64:]).abs().max() < 0.1 * (per_row[0, 64:] - w[0, 64:]).abs().max()
    conv = torch.randn(8, 3, 4, 4)                                       # 48 weights a row: one run
    assert torch.equal(store.dequantize_int8(store.quantize_int8(conv, grouped=True)),
                       store.dequantize_int8(store.quantize_int8(conv)))


def test_int8_weights_load_back_as_they_were_measured(tmp_path):
    torch.manual_seed(0)
    state = {"weight": torch.randn(64, 32, 3), "bias": torch.randn(64), "steps": torch.tensor(7)}
    record = store.save_weights({"m": state}, "w.pt", tmp_path, torch.int8)
    loaded = store.load_weights("w.pt", record, tmp_path)["m"]
    want = store.as_stored(state, torch.int8)
    assert loaded.keys() == want.keys() and all(torch.equal(loaded[k], want[k]) for k in want)
    assert loaded["steps"].item() == 7
    size16 = store.save_weights({"m": state}, "h.pt", tmp_path, torch.float16)["bytes"]
    assert record["bytes"] < size16
    both = store.save_weights({"a": state, "b": state, "c": state}, "ab.pt", tmp_path,
                              {"a": torch.int8, "b": torch.float16, "c": store.INT8_GROUPS})
    loaded = store.load_weights("ab.pt", both, tmp_path)               # one file, a dtype per model
    assert torch.equal(loaded["a"]["weight"], want["weight"])
    assert torch.equal(loaded["b"]["weight"], state["weight"].half().float())
    assert torch.equal(loaded["c"]["weight"], store.as_stored(state, store.INT8_GROUPS)["weight"])


def test_lessons_4_and_8b_tables_and_slider_read_the_shipped_sprite_models(trained_stand_ins, monkeypatch):
    folder, recipes, _, _ = trained_stand_ins
    monkeypatch.setattr(catalog, "recipes", lambda: recipes)
    from course_lib.reference import views
    lines = []
    groups = views.seed_table("beta-vae-dsprites", folder=folder, say=lines.append)
    assert sorted(groups) == [1.0, 4.0] and len(groups[4.0]) == 3               # three seeds of beta = 4
    recorded = reference.read_manifest(folder)["models"]
    migs = sorted(recorded[f"beta-vae-dsprites/beta4-seed{s}"]["metrics"]["mig"] for s in range(3))
    assert any(line.startswith("    4     3") and f"{migs[1]:.3f}" in line for line in lines)
    assert lines[-1].startswith("best median MIG:")
    said = []
    figure = views.median_explorer("beta-vae-dsprites", folder=folder, say=said.append)
    assert figure.controls["value"].options == (1.0, 4.0)     # beta = 1's only seed is its median
    assert len(said) == 2 and said[1].startswith("β = 4: beta4-seed") and "gaps x" in said[1]
    table = []
    assert views.capacity_table(folder=folder, say=table.append) is not None
    assert table[1].split()[:2] == ["C", "rate"] and table[2].split()[0] == "5"
    assert table[-1].startswith("the smallest final C at which one latent carries")
    assert "steps each (C raised over the first" in table[0]
    order = dict(views.factor_order(groups := views.by_value("capacity-dsprites", "capacity", folder)))
    for factor, c in order.items():                      # each factor's C is shown with the rate its model reached
        shown = "never" if c is None else f"{c:g} ({groups[c][0][1]['rate']:.1f} nats)"
        assert f"{factor} {shown}" in table[-1], (factor, table[-1])


def test_lessons_say_how_to_make_the_sprite_models_where_none_ship(tmp_path):
    lines = []
    from course_lib.reference import views
    assert views.seed_table("beta-tcvae-dsprites", folder=tmp_path, say=lines.append) is None
    assert views.median_explorer("beta-tcvae-dsprites", folder=tmp_path, say=lines.append) is None
    assert views.capacity_table(folder=tmp_path, say=lines.append) is None
    assert "python -m course_lib.reference train beta-tcvae-dsprites" in lines[0] and "a CPU will do" in lines[0]
    assert len(lines) == 3 and "capacity-dsprites" in lines[2]


def test_the_table_command_prints_the_readme_tables_from_the_manifest(capsys):
    assert main(["table"]) == 0
    out = capsys.readouterr().out
    kl = reference.read_manifest()["models"]["flows-u1-u4/planar-K32-u1"]["metrics"]["kl"]
    assert "**flows-u1-u4** (lesson 7)" in out and f"{kl:.3f}" in out.split("| planar | U1 |")[1].split("\n")[0]
    assert "| classifier |" in out


def test_training_some_models_of_a_recipe_keeps_the_others(trained_stand_ins, tmp_path):
    folder, recipes, _, _ = trained_stand_ins
    _copy_folder(folder, tmp_path)
    before = reference.read_manifest(tmp_path)["models"]["flows-u1-u4/planar-K2-u1"]
    reference.train(["flows-u1-u4"], tmp_path, device="cpu", progress=False, say=lambda line: None,
                    recipe_overrides=recipes, only="radial-*")
    after = reference.read_manifest(tmp_path)["models"]
    assert after["flows-u1-u4/planar-K2-u1"]["metrics"] == before["metrics"]
    assert catalog.check(["flows-u1-u4"], folder=tmp_path, say=lambda line: None, recipe_overrides=recipes) == []
    with pytest.raises(CourseInputError, match=re.escape("No model of 'flows-u1-u4' matches 'nothing-*'")):
        reference.train(["flows-u1-u4"], tmp_path, progress=False, recipe_overrides=recipes, only="nothing-*")


def test_check_of_an_unknown_name_and_a_manifest_without_its_file_record_say_what_is_wrong(trained_stand_ins,
                                                                                             tmp_path):
    assert catalog.check(["flows"], say=lambda line: None)[0].startswith("flows: there is no such recipe; there are")
    folder, recipes, _, _ = trained_stand_ins
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"]["weights/flows-u1-u4.pt"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(reference.ReferenceProblem, match=r"lists no record of weights/flows-u1-u4\.pt"):
        reference.load("flows-u1-u4", folder=tmp_path, recipe=recipes["flows-u1-u4"])


def test_lesson_7_trains_its_own_flows_by_the_recipe_in_fast_mode(monkeypatch):
    from course_lib.reference import flows
    monkeypatch.setenv("COURSE_LIB_FAST", "1")
    trained = flows.train_here(depths=(1,))
    assert set(trained) == {(kind, name, 1) for kind in ("planar", "radial") for name in ("u1", "u2", "u3", "u4")}


def test_the_sprite_table_says_the_budget_and_a_wrong_sweep_name_is_refused(trained_stand_ins, monkeypatch):
    folder, recipes, _, _ = trained_stand_ins
    monkeypatch.setattr(catalog, "recipes", lambda: recipes)
    from course_lib.reference import views
    lines = []
    views.seed_table("beta-vae-dsprites", folder=folder, say=lines.append)
    assert "2 steps of 16 sprites each, from 64 training sprites, trained for" in lines[0]
    with pytest.raises(CourseInputError, match="over must be one of"):
        views.seed_table("beta-vae-dsprites", over="gamma", folder=folder)
    for call in (views.median_models, views.complete, views.median_explorer):
        with pytest.raises(CourseInputError, match="over must be one of"):
            call("beta-vae-dsprites", "gamma", folder=folder)
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    with pytest.raises(CourseInputError, match="over must be one of"):
        views.lesson_sweep("beta-vae-dsprites", "gamma", lambda: None, folder=folder)


def test_only_each_values_median_seed_keeps_its_weights_and_every_metric_stays(trained_stand_ins):
    folder, recipes, _, lines = trained_stand_ins
    models = reference.read_manifest(folder)["models"]
    beta4 = {s: models[f"beta-vae-dsprites/beta4-seed{s}"] for s in range(3)}
    ranked = sorted(beta4, key=lambda s: (beta4[s]["metrics"]["mig"], f"beta4-seed{s}"))
    assert [s for s in beta4 if beta4[s]["weights"]["shipped"]] == [ranked[1]]
    for s, entry in beta4.items():
        assert (folder / entry["weights"]["file"]).is_file() == (s == ranked[1])
        assert "mig" in entry["metrics"]
    assert models["beta-vae-dsprites/beta1-seed0"]["weights"]["shipped"]     # its only seed: the median
    assert any("not shipped" in line for line in lines)
    with pytest.raises(reference.ReferenceProblem, match="does not ship its weights"):
        reference.load("beta-vae-dsprites", folder, recipe=recipes["beta-vae-dsprites"],
                       members=[f"beta4-seed{ranked[0]}"])
    loaded = reference.load("beta-vae-dsprites", folder, recipe=recipes["beta-vae-dsprites"])
    assert sorted(loaded) == sorted(["beta1-seed0", f"beta4-seed{ranked[1]}"])


def test_an_interrupted_training_keeps_the_models_it_finished_and_a_rerun_trains_only_the_rest(tmp_path):
    recipe = _stand_ins()["beta-vae-dsprites"].with_members(["beta1-seed0", "beta4-seed0"])
    calls = []

    def cut_off(part, device, progress):
        calls.append(list(part.members))
        if len(calls) == 2:
            raise KeyboardInterrupt                       # the machine went away during the second model
        return recipe.train(part, device, progress)

    stopped = dataclasses.replace(recipe, train=cut_off)
    with pytest.raises(KeyboardInterrupt):
        reference.train([recipe.name], tmp_path, "cpu", progress=False, say=lambda line: None,
                        recipe_overrides={recipe.name: stopped})
    assert list(reference.read_manifest(tmp_path)["models"]) == ["beta-vae-dsprites/beta1-seed0"]
    lines = []
    again = reference.train([recipe.name], tmp_path, "cpu", progress=False, say=lines.append,
                            recipe_overrides={recipe.name: stopped})
    assert calls == [["beta1-seed0"], ["beta4-seed0"], ["beta4-seed0"]] and list(again) == ["beta-vae-dsprites/beta4-seed0"]
    assert "1 of 2 models already trained by this recipe, kept" in lines[0]
    assert catalog.check(folder=tmp_path, say=lambda line: None, recipe_overrides={recipe.name: recipe}) == []


def test_the_factor_order_is_the_smallest_capacity_at_which_one_latent_carries_half_a_factor():
    from course_lib.reference import views

    def row(**mi):
        return [("m", {f"MI {f}": mi.get(f, 0.0) for f in ("shape", "scale", "orientation", "x", "y")})]
    groups = {2.0: row(x=0.6, y=0.3), 5.0: row(x=0.7, y=0.55, scale=0.2), 10.0: row(x=0.8, y=0.7, scale=0.6)}
    assert views.factor_order(groups) == [("x", 2.0), ("y", 5.0), ("scale", 10.0), ("shape", None),
                                          ("orientation", None)]


def test_the_reference_package_imports_one_way_round():
    """recipe, store < loading < the recipe modules < catalog < views < __main__: no module imports one to its
    right, lazily or not (a recipe module that needed the catalog made a circle)."""
    import ast
    from pathlib import Path
    order = {"recipe": 0, "store": 0, "loading": 1, "flows": 2, "images": 2, "sprites": 2, "toys": 2, "rate_distortion": 2, "wae": 2, "hierarchical": 2, "flow_vae": 2, "elbo": 2, "divergences": 2, "reparam": 2, "control": 2,
             "catalog": 3,
             "views": 4, "__main__": 5, "__init__": 6}
    folder = Path(reference.__file__).parent
    assert {p.stem for p in folder.glob("*.py")} == set(order)
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                targets = [node.module] if node.module else [a.name for a in node.names]
                for target in targets:
                    assert order[target] < order[path.stem] or path.stem == "__init__", (path.name, target)


def test_lesson_4s_sliders_run_on_each_values_median_reference_model_in_full_mode(trained_stand_ins, monkeypatch):
    folder, recipes, _, _ = trained_stand_ins
    from course_lib.reference import sprites, views
    own = ("the lesson's own models",)
    lines = []
    monkeypatch.setattr(catalog, "recipes", lambda: recipes)
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    # beta = 1 has one of its seeds only in the stand-in recipe below: the lesson trains its own, and says why
    partial = dataclasses.replace(recipes["beta-vae-dsprites"], members={
        m: member for m, member in sprites.BETA_VAE.members.items()
        if m in ("beta1-seed0", "beta1-seed1", "beta4-seed0", "beta4-seed1", "beta4-seed2")})
    monkeypatch.setattr(catalog, "recipes", lambda: {**recipes, "beta-vae-dsprites": partial})
    assert views.lesson_sweep("beta-vae-dsprites", "beta", lambda: own, folder=folder, say=lines.append) == own
    assert "not all trained yet (4 of 5)" in lines[-1]
    assert views.best_traversal("beta-vae-dsprites", folder=folder, say=lines.append) is None
    monkeypatch.setattr(catalog, "recipes", lambda: recipes)
    models, values, sprites = views.lesson_sweep("beta-vae-dsprites", "beta", lambda: own, folder=folder,
                                                 say=lines.append)
    medians = {v: m for v, m, _ in views.median_models("beta-vae-dsprites", folder=folder)}
    assert values == [1.0, 4.0] and len(models) == 2 and sprites.images.shape[1:] == (1, 32, 32)
    assert "Loaded the reference models 'beta-vae-dsprites'" in lines[-1]
    loaded = reference.load("beta-vae-dsprites", folder, members=[medians[4.0]])[medians[4.0]]
    assert all(torch.equal(a, b) for a, b in zip(models[1].state_dict().values(), loaded.state_dict().values()))
    assert views.lesson_sweep("beta-vae-dsprites", "beta", lambda: own, retrain=True, folder=folder,
                              say=lines.append) == own
    figure = views.best_traversal("beta-vae-dsprites", folder=folder, n=64, say=lines.append)
    assert figure is not None and lines[-1].startswith("best median MIG") and "gaps x" in lines[-1]
    assert [t.get_text().split(":")[1].split("\n")[0].strip() for t in figure.axes[0].get_yticklabels()] == \
        ["x", "y", "scale"]
    monkeypatch.setenv("COURSE_LIB_FAST", "1")
    assert views.lesson_sweep("beta-vae-dsprites", "beta", lambda: own, folder=folder) == own


def test_lesson_8b_compares_the_two_sprite_families_from_one_source(trained_stand_ins, monkeypatch):
    """Both from the reference models where both are complete, else both the lesson's own: never a β-VAE from
    one data set against a β-TCVAE from another."""
    folder, recipes, _, _ = trained_stand_ins
    from course_lib.reference import sprites, views
    monkeypatch.setattr(catalog, "recipes", lambda: recipes)
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    requests = [("beta-vae-dsprites", "beta", lambda: "own β-VAEs"), ("beta-tcvae-dsprites", "beta", lambda: "own TC")]
    lines = []
    (vae, tc) = views.lesson_sweeps(requests, folder=folder, say=lines.append)
    assert vae[1] == [1.0, 4.0] and tc[1] == [4.0] and len(tc[0]) == 1
    best = views.compare_best(folder=folder, say=lines.append)
    recorded = reference.read_manifest(folder)["models"]["beta-tcvae-dsprites/beta4-seed0"]["metrics"]
    assert best["beta-tcvae-dsprites"] == views.Best(4.0, recorded["mig"], (recorded["mig"],) * 2, recorded["distortion"])
    assert lines[-1].startswith("beta-tcvae-dsprites") and "median distortion" in lines[-1]
    partial = dataclasses.replace(recipes["beta-tcvae-dsprites"], members={
        m: member for m, member in sprites.TCVAE.members.items() if m in ("beta4-seed0", "beta4-seed1")})
    monkeypatch.setattr(catalog, "recipes", lambda: {**recipes, "beta-tcvae-dsprites": partial})
    assert views.lesson_sweeps(requests, folder=folder, say=lines.append) == ["own β-VAEs", "own TC"]
    assert "beta-tcvae-dsprites are trained yet" in lines[-1]
    assert views.compare_best(folder=folder, say=lines.append) is None


def test_the_targets_are_checked_on_the_recorded_metrics_and_can_fail(trained_stand_ins, tmp_path, monkeypatch):
    folder, recipes, _, _ = trained_stand_ins
    from course_lib.reference import views
    monkeypatch.setattr(catalog, "recipes", lambda: recipes)
    assert all(line.endswith("not measured yet") or "not measured yet" in line
               for line in views.targets(tmp_path))                         # an empty folder: nothing measured
    lines = views.targets(folder)
    assert len(lines) == 5 and all(line.endswith((": met", ": NOT met")) for line in lines), lines
    assert lines[0].endswith("NOT met")                                     # two steps of training disentangle nothing
    _copy_folder(folder, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for key, entry in manifest["models"].items():
        if key.startswith("beta-vae-dsprites/beta4"):
            entry["metrics"].update({"mig": 0.4, "gap x": 0.5, "gap y": 0.6})
        if key.startswith("beta-vae-dsprites/beta1"):
            entry["metrics"]["mig"] = 0.1
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    changed = views.targets(tmp_path)
    assert changed[0].startswith("β-VAE: best median MIG 0.400 at β = 4") and changed[0].endswith(": met")
    assert changed[1].endswith(": met") and "gaps x 0.50, y 0.60" in changed[1]


def test_the_cpu_capacity_recipe_steers_the_rate_along_c_t_with_a_controlled_beta():
    """The CPU recipe: loss = D + beta(t) R, the set point C(t) rising from start_capacity to the final C over
    ramp_steps and then held, beta starting at the controller's beta_max and falling while the rate is below
    C(t)."""
    from course_lib.models.vae import VAE
    from course_lib.reference import sprites
    t = sprites.CAPACITY_TRAINING
    c = t["controller"]
    model = VAE.conv((1, 32, 32), 4, channels=(8, 8, 8), hidden=(16,))
    x = torch.rand(8, 1, 32, 32).round()
    loss_fn = sprites.objective({"objective": "capacity", "capacity": 8.0}, t)
    torch.manual_seed(0)
    first = loss_fn(model, x, 0)
    torch.manual_seed(0)
    torch.testing.assert_close(first["loss"], model.loss_terms(x, beta=c["beta_max"])["loss"])
    assert float(first["beta"]) == c["beta_max"] and float(first["set point"]) == t["start_capacity"]

    class SilentCode:                                         # its rate is 0, below every C(t)
        def loss_terms(self, x, beta):
            return {"loss": torch.tensor(0.0), "rate": torch.tensor(0.0)}
    steered = sprites.objective({"objective": "capacity", "capacity": 8.0}, t)
    betas = [float(steered(SilentCode(), x, step)["beta"]) for step in range(4)]
    assert betas[0] == c["beta_max"] and betas[1] > betas[2] > betas[3], betas    # a rate below C: beta comes down
    for step, want in [(t["ramp_steps"] // 2, (t["start_capacity"] + 8.0) / 2), (t["ramp_steps"], 8.0),
                       (t["steps"], 8.0)]:
        assert float(loss_fn(model, x, step)["set point"]) == pytest.approx(want)
    small = sprites.objective({"objective": "capacity", "capacity": 0.25}, t)     # a final C below the start
    assert float(small(model, x, 0)["set point"]) == 0.25


def test_the_gpu_capacity_recipe_keeps_burgess_penalty_with_c_from_zero_over_half_the_steps():
    """The GPU recipe as published: D + gamma |R - C(t)|, C(t) from 0 to the final C over ramp_steps."""
    from course_lib.models.vae import VAE
    from course_lib.reference import sprites
    t = sprites.CAPACITY_TRAINING_64
    loss_fn = sprites.objective({"objective": "capacity", "capacity": 25.0}, t)
    model = VAE.conv((1, 32, 32), 4, channels=(8, 8, 8), hidden=(16,))
    x = torch.rand(8, 1, 32, 32).round()
    for step, capacity in [(0, 0.0), (t["ramp_steps"] // 2, 12.5), (t["steps"], 25.0)]:
        torch.manual_seed(0)
        got = loss_fn(model, x, step)["loss"]
        torch.manual_seed(0)
        torch.testing.assert_close(got, model.loss_terms(x, beta=t["gamma"], capacity=capacity)["loss"])


def test_a_recipe_with_history_hands_the_lesson_its_models_training_history(trained_stand_ins, monkeypatch,
                                                                              tmp_path):
    """Lesson 1 plots its VAE's training curves: the manifest keeps them, and or_train gives them back."""
    import shutil
    shared, recipes, _, _ = trained_stand_ins
    folder = tmp_path / "reference"
    shutil.copytree(shared, folder)
    monkeypatch.setattr(catalog, "recipes", lambda: recipes)
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    entry = reference.read_manifest(folder)["models"]["fashion-vae/vae"]
    assert entry["history"]["steps"] and set(entry["history"]["terms"]) >= {"rate", "distortion"}
    _vae, history = reference.or_train("fashion-vae", lambda: "trained here", folder=folder)
    assert history.steps == entry["history"]["steps"]
    assert history.last("rate") == entry["history"]["terms"]["rate"][-1]
    manifest = reference.read_manifest(folder)
    manifest["models"]["fashion-vae/vae"].pop("history")
    store.write_manifest(manifest, folder)
    with pytest.raises(reference.ReferenceProblem, match="keeps no training history of fashion-vae/vae"):
        reference.or_train("fashion-vae", lambda: "trained here", folder=folder)


def test_check_takes_recipe_names_and_a_name_without_a_command_is_refused(capsys):
    assert main(["--check", "no-such-recipe"]) == 1
    assert "MISMATCH no-such-recipe: there is no such recipe" in capsys.readouterr().out
    assert main(["flows-u1-u4"]) == 2
    assert "'flows-u1-u4' is not a command; use one of list, train, table" in capsys.readouterr().err


def test_or_train_puts_the_loaded_models_on_the_lessons_device(trained_stand_ins, monkeypatch):
    """A lesson passes its device, so that reference models sit where its own trained ones would (a
    GPU on a GPU machine); the meta device stands in for one here."""
    folder, recipes, _, _ = trained_stand_ins
    monkeypatch.setattr(catalog, "recipes", lambda: recipes)
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    vae, history = reference.or_train("fashion-vae", lambda: None, folder=folder, device=torch.device("meta"))
    assert {p.device.type for p in vae.parameters()} == {"meta"} and history.steps
    on_cpu, _ = reference.or_train("fashion-vae", lambda: None, folder=folder)
    assert {p.device.type for p in on_cpu.parameters()} == {"cpu"}
