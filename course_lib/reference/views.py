"""What lessons show of the reference models from the manifest: lessons 4 and 8b's seed tables, the capacity
table and the slider over each value's median seed; lesson 5's warm-up runs and lesson 8b's question-8 seeds
(``make test`` re-measures the models whose weights ship; the others keep the SHA-256 of the weights their
metrics came from)."""
from typing import NamedTuple

import numpy as np

from ..data.sprites import FACTOR_NAMES, SpritesData
from ..errors import check_choice
from ..lessons import beta_vae as lesson
from ..lessons import flow_vae as flow_vae_lesson
from ..lessons import hybrids as hybrids_lesson
from ..lessons import rate_distortion as rate_distortion_lesson
from ..settings import fast_mode
from .catalog import get_recipe, load, provenance, retrain_hint
from .flow_vae import GAP_METRICS, has_gap_table, model_name
from .rate_distortion import BETA_SWEEP
from .sprites import median_seeds, split
from .store import read_manifest
from .toys import UNIFIED, _unified_member


def recorded(name, folder=None):
    """{model name: metrics} of the models of recipe ``name`` that the manifest records."""
    recipe, models = get_recipe(name), read_manifest(folder)["models"]
    return {m: models[f"{name}/{m}"]["metrics"] for m in recipe.members if f"{name}/{m}" in models}


def by_value(name, over="beta", folder=None):
    """The recorded metrics of recipe ``name``'s models, grouped by the swept value (the seeds of one value
    together).  -> {value: [(model name, metrics), ...]}, or None when the manifest records none of them
    (a recipe still being trained shows the models it has)."""
    check_choice("over", over, ("beta", "capacity"))
    metrics = recorded(name, folder)
    if not metrics:
        return None
    recipe = get_recipe(name)
    out = {}
    for m, member in recipe.members.items():
        if m in metrics:
            out.setdefault(member[over], []).append((m, metrics[m]))
    return dict(sorted(out.items()))


def _not_yet(name, say):
    recipe = get_recipe(name)
    say(f"No reference models '{name}' ship with the course yet ({recipe.what}). "
        f"To make them: {retrain_hint(recipe)}")


def _trained_line(name, folder):
    recipe = get_recipe(name)
    have = len(recorded(name, folder))
    if have == len(recipe.members):
        return provenance(name, folder)
    return f"{have} of its {len(recipe.members)} models trained so far"


def seed_table(name, over="beta", folder=None, say=print):
    """Print, for each swept value, the median MIG over seeds with its range, and the median rate and gaps of
    x, y and scale, from the manifest (``make test`` re-measures every one).  Where the course ships none,
    say so and how to make them.  -> by_value(...) or None"""
    groups = by_value(name, over, folder)
    recipe = get_recipe(name)
    if groups is None:
        _not_yet(name, say)
        return None
    symbol = {"beta": "β", "capacity": "C"}[over]
    t = recipe.training
    say(f"{recipe.what}: {t['steps']} steps of {t['batch_size']} sprites each, from {t['train']} training sprites, "
        f"{_trained_line(name, folder)}; recipe after {recipe.source}")
    say(f"{symbol:>5} {'seeds':>5} {'median MIG':>11} {'range':>13} {'rate':>7} {'gap x':>6} {'gap y':>6} "
        f"{'gap scale':>9}")
    for value, rows in groups.items():
        mig = np.array([r["mig"] for _, r in rows])
        med = {k: float(np.median([r[k] for _, r in rows])) for k in ("rate", "gap x", "gap y", "gap scale")}
        say(f"{value:5g} {len(rows):5d} {np.median(mig):11.3f} {mig.min():6.3f}–{mig.max():<6.3f} {med['rate']:7.1f} "
            f"{med['gap x']:6.2f} {med['gap y']:6.2f} {med['gap scale']:9.2f}")
    best, median = best_value(groups)
    say(f"best median MIG: {median:.3f} at {symbol} = {best:g}")
    return groups


def best_value(groups):
    """The swept value with the highest median MIG over its seeds.  -> (value, median MIG)"""
    medians = {value: float(np.median([r["mig"] for _, r in rows])) for value, rows in groups.items()}
    best = max(medians, key=medians.get)
    return best, medians[best]


def median_models(name, over="beta", folder=None):
    """For each swept value whose seeds are all trained: (value, model name, metrics) of the seed with the
    median MIG (the one whose weights ship)."""
    check_choice("over", over, ("beta", "capacity"))
    recipe = get_recipe(name)
    metrics = recorded(name, folder)
    chosen = median_seeds(metrics, recipe.members, over)
    return [(value, m, metrics[m]) for value, m in sorted(chosen.items())]


def median_explorer(name, over="beta", folder=None, n=None, say=print):
    """The lesson's slider over the shipped models of ``name``: for each value the seed with the median MIG,
    scored again on the recipe's test sprites (``n`` of them; all by default).  One line first says which
    model each position is and its recorded gaps for x, y and scale.  None where none ship."""
    medians = median_models(name, over, folder)
    if not medians:
        _not_yet(name, say)
        return None
    recipe = get_recipe(name)
    symbol = {"beta": "β", "capacity": "C"}[over]
    models = load(name, folder, members=[m for _, m, _ in medians])
    for value, m, metrics in medians:
        say(f"{symbol} = {value:g}: {m} (median seed), MIG {metrics['mig']:.3f}, gaps x {metrics['gap x']:.2f}, "
            f"y {metrics['gap y']:.2f}, scale {metrics['gap scale']:.2f}")
    test = split(recipe.training, "test")
    test = test if n is None else SpritesData(test.images[:n], test.factors[:n], test.factor_values)
    chosen = [models[m] for _, m, _ in medians]
    measured = lesson.scores(chosen, test)
    return lesson.sweep_explorer(chosen, [v for v, _, _ in medians], measured, test.images[0], test.factor_names,
                                 symbol=symbol, target=over == "capacity")


def capacity_table(name="capacity-dsprites", folder=None, say=print):
    """For each final capacity C of the shipped models: the rate reached and, per factor, the largest mutual
    information of one latent with it over the factor's entropy (1: one latent carries it all), from the
    manifest.  Where the course ships none, say so and how to make them.  -> by_value(...) or None"""
    groups = by_value(name, "capacity", folder)
    if groups is None:
        _not_yet(name, say)
        return None
    recipe = get_recipe(name)
    t = recipe.training
    say(f"{recipe.what}, {t['steps']:,} steps each (C raised over the first {t['ramp_steps']:,}), "
        f"{_trained_line(name, folder)}")
    say(f"{'C':>5} {'rate':>6} " + " ".join(f"{n:>11}" for n in FACTOR_NAMES))
    for c, rows in groups.items():
        metrics = rows[0][1]
        say(f"{c:5g} {metrics['rate']:6.1f} " + " ".join(f"{metrics['MI ' + n]:11.2f}" for n in FACTOR_NAMES))
    order = factor_order(groups)
    say("the smallest final C at which one latent carries at least half a factor's entropy (and the rate that "
        "model reached): " + ", ".join(f"{f} never" if c is None else f"{f} {c:g} ({groups[c][0][1]['rate']:.1f} nats)"
                                       for f, c in order))
    return groups


def capacity_figure(groups, share=0.5):
    """Burgess et al.'s picture of the capacity models: for each factor, the largest share of its entropy
    that one latent carries, against the rate each model reached, with the share that counts as "entered"
    dashed.  groups: by_value(..., "capacity").  -> the (pyplot) figure"""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)

    rates = [rows[0][1]["rate"] for rows in groups.values()]
    order = np.argsort(rates)
    fig, ax = plt.subplots(figsize=(5.6, 3.4), layout="constrained")
    for f in FACTOR_NAMES:
        shares = [rows[0][1][f"MI {f}"] for rows in groups.values()]
        ax.plot(np.array(rates)[order], np.array(shares)[order], "o-", label=f)
    ax.axhline(share, color="0.4", ls="--", lw=0.8, label=f"{share:g} of the entropy")
    ax.set(xlabel="rate reached (nats)", ylabel="one latent's share of the factor's entropy", ylim=(0, 1),
           title="which factors the code takes in, as capacity grows")
    ax.legend(fontsize=7, ncol=2)
    return fig


def factor_order(groups, share=0.5):
    """For each factor, the smallest final capacity C whose model has one latent carrying at least ``share``
    of the factor's entropy (None if none does), factors sorted by it (Burgess et al.'s order: the
    factor that buys the most distortion per nat first).  groups: by_value(..., "capacity").
    -> [(factor name, C or None), ...]"""
    found = {}
    for f in FACTOR_NAMES:
        reached = [c for c, rows in groups.items() if rows[0][1][f"MI {f}"] >= share]
        found[f] = min(reached) if reached else None
    return sorted(found.items(), key=lambda item: (item[1] is None, item[1] or 0.0))


def complete(name, over="beta", folder=None):
    """True when every value of recipe ``name`` has all its seeds trained (so each has a median seed)."""
    recipe = get_recipe(name)
    return len(median_models(name, over, folder)) == len({member[over] for member in recipe.members.values()})


def lesson_sweep(name, over, train_own, *, retrain=False, folder=None, say=print):
    """What a lesson's β or C slider runs on.  In full mode, where every value of recipe ``name`` has its seeds
    trained: each value's median-seed reference model and the recipe's test sprites, with one line that says so.
    Otherwise (fast mode, ``retrain=True``, or reference models still missing, said in one line): ``train_own()``.
    train_own() -> (models, values, sprites);  -> (models, values, sprites)"""
    recipe = get_recipe(name)
    if fast_mode():
        return train_own()
    if retrain:
        say(f"Training the lesson's own sweep here, as asked (retrain=True), instead of loading '{name}'.")
        return train_own()
    if not complete(name, over, folder):
        have = len(recorded(name, folder))
        say(f"The reference models '{name}' are not all trained yet ({have} of {len(recipe.members)}); the lesson "
            f"trains its own smaller sweep. To make them: {retrain_hint(recipe)}")
        return train_own()
    medians = median_models(name, over, folder)
    models = load(name, folder, members=[m for _, m, _ in medians])
    seeds = len(recipe.members) // len(medians)
    say(f"Loaded the reference models '{name}': for each {over} the median of its {seeds} seed(s), "
        f"{_trained_line(name, folder)}. retrain = True trains the lesson's own instead.")
    return [models[m] for _, m, _ in medians], [v for v, _, _ in medians], split(recipe.training, "test")


def lesson_sweeps(requests, *, retrain=False, folder=None, say=print):
    """Several sweeps a lesson compares, all from the reference models or all the lesson's own, never a mix
    (two families measured on different data would not compare).  requests: [(name, over, train_own), ...]
    as in :func:`lesson_sweep`.  -> [(models, values, sprites), ...]"""
    if not fast_mode() and not retrain:
        missing = [name for name, over, _ in requests if not complete(name, over, folder)]
        if missing:
            say(f"Not all reference models of {', '.join(missing)} are trained yet; the lesson trains its own "
                f"smaller sweeps for the comparison. To make them: "
                + "; ".join(retrain_hint(get_recipe(n)) for n in missing))
            return [train_own() for _, _, train_own in requests]
    return [lesson_sweep(name, over, train_own, retrain=retrain, folder=folder, say=say)
            for name, over, train_own in requests]


class Best(NamedTuple):
    """One recipe's best β by median MIG: that median, its seeds' lowest and highest MIG, their median distortion."""
    beta: float
    median_mig: float
    mig_range: tuple[float, float]
    median_distortion: float


def compare_best(names=("beta-vae-dsprites", "beta-tcvae-dsprites"), folder=None, say=print):
    """For each recipe, the β with the highest median MIG, that median, its range over the seeds and the median
    distortion of its seeds, from the manifest.  -> {name: Best}, or None where any is missing."""
    out = {}
    for name in names:
        groups = by_value(name, "beta", folder)
        if groups is None or not complete(name, "beta", folder):
            _not_yet(name, say)
            return None
        best, median = best_value(groups)
        distortion = float(np.median([r["distortion"] for _, r in groups[best]]))
        migs = [r["mig"] for _, r in groups[best]]
        out[name] = Best(best, median, (min(migs), max(migs)), distortion)
        say(f"{name:<22} best median MIG {median:.3f} (seeds {min(migs):.3f}–{max(migs):.3f}) at β = {best:g}, "
            f"median distortion {distortion:.1f} nats")
    return out


def best_traversal(name="beta-vae-dsprites", folder=None, n=2000, say=print):
    """The median-seed model of the β with the highest median MIG: its recorded gaps, and a traversal of one
    test sprite along the latent that carries most of each of x, y and scale (rows labelled by factor).
    -> the matplotlib figure, or None where the recipe's models are not all trained."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)

    if not complete(name, "beta", folder):
        _not_yet(name, say)
        return None
    best, median = best_value(by_value(name, "beta", folder))
    (_value, member, metrics), = [row for row in median_models(name, "beta", folder) if row[0] == best]
    model = load(name, folder, members=[member])[member]
    test = split(get_recipe(name).training, "test")
    sprites = SpritesData(test.images[:n], test.factors[:n], test.factor_values)
    s = lesson.scores([model], sprites)
    mi = s["mi"][0]
    say(f"best median MIG {median:.3f} at β = {best:g}; its median seed {member}: MIG {metrics['mig']:.3f}, "
        f"gaps x {metrics['gap x']:.2f}, y {metrics['gap y']:.2f}, scale {metrics['gap scale']:.2f} "
        "(recorded on the recipe's 5,000 test sprites)")
    names = list(FACTOR_NAMES)
    rows, labels = [], []
    for factor in ("x", "y", "scale"):
        k = names.index(factor)
        latent = int(mi[:, k].argmax())
        rows.append(latent)
        labels.append(f"z{latent}: {factor}\n{mi[latent, k] / s['entropies'][k]:.0%} of H")
    grid = lesson.traversal(model, sprites.images[0], rows)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1)
    height = grid.shape[0] / len(rows)
    ax.set_yticks([(i + 0.5) * height for i in range(len(rows))], labels, fontsize=8)
    ax.set_xticks([])
    ax.set(xlabel="latent value −2.5 … 2.5, the others at the sprite's code",
           title=f"β = {best:g}, {member}: the latent that carries most of each factor")
    return fig


def _verdict(ok):
    return "met" if ok else "NOT met"


def targets(folder=None):
    """Issue 30's targets for the reference models of lessons 4 and 8b, each checked on the recorded metrics.
    -> lines "target: measured ... -> met / not met / not measured yet (why)" """
    vae = by_value("beta-vae-dsprites", "beta", folder) if complete("beta-vae-dsprites", "beta", folder) else None
    return [*_beta_vae_targets(vae, folder), _tcvae_target(vae, folder), _capacity_target(folder),
            _vae_gan_target(folder)]


def _beta_vae_targets(vae, folder):
    if vae is None:
        return ["β-VAE: best median MIG ≥ 0.30 and β = 1's at most half of it: not measured yet "
                "(not every seed is trained)",
                "β-VAE: the best β's median model has gaps x, y ≥ 0.4: not measured yet"]
    best, median = best_value(vae)
    one = float(np.median([r["mig"] for _, r in vae[1.0]])) if 1.0 in vae else float("nan")
    (_, member, m), = [row for row in median_models("beta-vae-dsprites", "beta", folder) if row[0] == best]
    return [f"β-VAE: best median MIG {median:.3f} at β = {best:g} (≥ 0.30), β = 1's {one:.3f} (≤ "
            f"{median / 2:.3f}): {_verdict(median >= 0.30 and one <= median / 2)}",
            f"β-VAE: the best β's median model {member}: gaps x {m['gap x']:.2f}, y {m['gap y']:.2f}, "
            f"scale {m['gap scale']:.2f} (x, y ≥ 0.4): {_verdict(m['gap x'] >= 0.4 and m['gap y'] >= 0.4)}"]


def _tcvae_target(vae, folder):
    tc = by_value("beta-tcvae-dsprites", "beta", folder) if complete("beta-tcvae-dsprites", "beta", folder) else None
    if tc is None or vae is None:
        return "β-TCVAE: best median MIG ≥ the best β-VAE's, at a lower distortion: not measured yet"
    (vb, vm), (tb, tm) = best_value(vae), best_value(tc)
    vd = float(np.median([r["distortion"] for _, r in vae[vb]]))
    td = float(np.median([r["distortion"] for _, r in tc[tb]]))
    return (f"β-TCVAE: best median MIG {tm:.3f} at β = {tb:g} against β-VAE's {vm:.3f}; distortion {td:.1f} "
            f"against {vd:.1f} nats: {_verdict(tm >= vm and td < vd)}")


def _capacity_target(folder):
    capacity = by_value("capacity-dsprites", "capacity", folder)
    if capacity is None or not complete("capacity-dsprites", "capacity", folder):
        return "capacity: position before scale, scale before shape and orientation: not measured yet"
    order = dict(factor_order(capacity))
    c = {f: float("inf") if order[f] is None else order[f] for f in order}
    ok = max(c["x"], c["y"]) <= c["scale"] <= min(c["shape"], c["orientation"]) and c["scale"] < float("inf")
    return ("capacity: the smallest final C at which one latent carries half a factor: "
            + ", ".join(f"{f} {'never' if order[f] is None else f'{order[f]:g}'}" for f in order)
            + f" (position ≤ scale ≤ shape, orientation): {_verdict(ok)}")


def _vae_gan_target(folder):
    models = read_manifest(folder)["models"]
    if not all(f"fashion-vae-gan/{m}" in models for m in ("vae", "vae-gan")):
        return ("VAE-GAN: sharper than the VAE (Laplacian variance nearer the data's) and a feature distance "
                "no larger: not measured yet")
    v, g = (models[f"fashion-vae-gan/{m}"]["metrics"] for m in ("vae", "vae-gan"))
    key = "Laplacian variance / data's"
    sharper = abs(g[key] - 1) < abs(v[key] - 1)
    closer = g["feature distance"] <= v["feature distance"]
    return (f"VAE-GAN: Laplacian variance over the data's {g[key]:.3f} against the VAE's {v[key]:.3f}; "
            f"feature distance {g['feature distance']:.1f} against {v['feature distance']:.1f}: "
            f"{_verdict(sharper and closer)}")


def recorded_question8(folder=None):
    """Lesson 8b's question 8 as the shipped ``toy-unified`` models measured it, every part and seed:
    {(part, seed): {"test IWAE bound (nats)", "sample MMD²", "consistency error"}}, or None where some model is not
    recorded.  They are what :func:`course_lib.lessons.hybrids.question8` gives on the same test points with the
    same k, so the lesson reads them instead of spending minutes on the same IWAE bounds."""
    metrics = recorded(UNIFIED.name, folder)
    rows = {}
    for seed in hybrids_lesson.UNIFIED_SEEDS:
        for name in hybrids_lesson.UNIFIED_PARTS:
            m = metrics.get(_unified_member(name, seed))
            if m is None:
                return None
            rows[name, seed] = {"test IWAE bound (nats)": m["test IWAE bound"], "sample MMD²": m["sample MMD²"],
                                "consistency error": m["consistency error"]}
    return rows


def _evaluation(metrics, sizes):
    """A manifest entry of a hierarchical model, in the shape of :func:`course_lib.lessons.hierarchical.evaluate`."""
    levels = range(1, len(sizes) + 1)
    return {"elbo": metrics["elbo"], "iwae": metrics["iwae"], "kl": [metrics[f"kl {l}"] for l in levels],
            "active": [int(metrics[f"active {l}"]) for l in levels], "units": list(sizes)}


def _recorded_rows(name, folder):
    """{model name: evaluate's dict} of recipe ``name`` from the manifest, or None where some model is not there."""
    recipe, metrics = get_recipe(name), recorded(name, folder)
    if any(m not in metrics for m in recipe.members):
        return None
    return {m: _evaluation(metrics[m], member["latent_dims"]) for m, member in recipe.members.items()}


def _on_shipped_images(data):
    """True unless ``data`` (the lesson's ImageData, where given) holds other images than the shipped subset (the
    full Fashion-MNIST set, where installed): the recorded numbers are the shipped test images'."""
    return data is None or str(data.source).startswith("subset")


def recorded_evaluations(name, retrain=False, folder=None, data=None):
    """Lesson 5's :func:`~course_lib.lessons.hierarchical.evaluate` of each model of recipe ``name`` as the
    manifest records it: the recipe measures the models with that very function, on the lesson's test images
    and k, and ``make test`` measures the shipped ones again (``--check``), so the lesson reads these instead
    of spending its minute on the same bounds.  -> {model name: evaluate's dict}, or None where the lesson
    measures for itself: in fast mode, with ``retrain``, on ``data`` other than the shipped subset, or where
    some model is not recorded."""
    return None if fast_mode() or retrain or not _on_shipped_images(data) else _recorded_rows(name, folder)


def recorded_beta_sweep(n_test, k, retrain=False, folder=None, data=None):
    """Lesson 3's measurements of its β sweep as recipe ``fashion-beta-sweep`` records them: the recipe measures each
    model with the lesson's own :func:`~course_lib.lessons.rate_distortion.measure_sweep` on the same binarized test
    images, and ``--check`` measures the shipped ones again, so the lesson reads these instead of spending its
    minute on the same IWAE bounds and probes.  -> one dict per β of ``lesson.BETAS`` (``measure_sweep``'s
    ``known``), or None where the lesson measures for itself: in fast mode, with ``retrain``, on ``data`` other than
    the shipped subset, with another ``n_test`` or ``k`` than the recipe's, or where some model is not recorded."""
    training = BETA_SWEEP.training
    if fast_mode() or retrain or not _on_shipped_images(data) or (n_test, k) != (training["test images"],
                                                                                  training["iwae k"]):
        return None
    metrics = recorded(BETA_SWEEP.name, folder)
    rows = [metrics.get(f"beta{b:g}") for b in rate_distortion_lesson.BETAS]
    if any(m is None or any(key not in m for key in rate_distortion_lesson.RECORDED) for m in rows):
        return None
    return [{key: int(m[key]) if key == "active_units" else m[key] for key in rate_distortion_lesson.RECORDED}
            for m in rows]


def recorded_warmup(name="fashion-warmup", folder=None, data=None):
    """Lesson 5's warm-up runs as recorded when they were trained (their weights do not ship): {(inference, seed):
    evaluate's dict}, ladder first, or None where some run is not recorded or ``data`` (the lesson's ImageData, where
    given) holds other images than the shipped subset the runs were measured on."""
    if not _on_shipped_images(data):
        return None
    rows, members = _recorded_rows(name, folder), get_recipe(name).members
    if rows is None:
        return None
    keyed = {(members[m]["inference"], members[m]["seed"]): row for m, row in rows.items()}
    return dict(sorted(keyed.items(), key=lambda item: (item[0][0] != "ladder", item[0][1])))


def recorded_flow_vae_tables(retrain=False, folder=None, data=None):
    """Lesson 7b's two tables of its flow-posterior VAEs as recipe ``fashion-flow-vaes`` records them: the recipe
    measures each model with the lesson's own :func:`~course_lib.lessons.flow_vae.bounds` and
    :func:`~course_lib.lessons.flow_vae.amortization_gap`, on the same test images with the same k and steps (both
    seed themselves), and ``--check`` measures the shipped ones again, so the lesson reads these instead of
    spending its minute on the same numbers.  -> ({(kind, K): (ELBO, IWAE)}, {(kind, K): amortization_gap's dict}
    for the models of the gap table), or None where the lesson measures for itself: in fast mode, with
    ``retrain``, on ``data`` other than the shipped subset, or where some model or metric is not recorded."""
    if fast_mode() or retrain or not _on_shipped_images(data):
        return None
    recipe, metrics = get_recipe("fashion-flow-vaes"), recorded("fashion-flow-vaes", folder)
    bounds, gaps = {}, {}
    for kind in flow_vae_lesson.KINDS:
        for k in flow_vae_lesson.FLOW_STEPS:
            name = model_name(kind, k)
            m = metrics.get(name)
            gapped = has_gap_table(recipe.members[name])
            if m is None or (gapped and any(f"gap: {c}" not in m for c in GAP_METRICS)):
                return None
            bounds[kind, k] = (m["elbo"], m["iwae"])
            if gapped:
                gaps[kind, k] = {c: m[f"gap: {c}"] for c in GAP_METRICS}
    return bounds, gaps
