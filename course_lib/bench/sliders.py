"""Benchmark: how long a slider update takes in each lesson's live figures.

    python -m course_lib.bench.sliders

Builds every explorer headlessly, moves each control through several values
(as a learner dragging it would) and reports the median and the slowest
update in milliseconds: the update function, the draw and the PNG encoding.
Sending the PNG to the browser is not included.  A control marked
"recomputes" runs a new Monte Carlo measurement on each move; the others only
redraw precomputed results, and the course's target for those is < 150 ms.
"""
import os
import statistics
import tempfile
from collections.abc import Callable

from ..data import load_fashion_mnist, make_sprites
from ..lessons import beta_vae, divergences, elbo, flows, hierarchical, hybrids, rate_distortion, reparam, wae
from ..training.cache import clear_memory

EXPLORERS: dict[str, tuple[Callable, set[str]]] = {
    "lesson 1 · ELBO gap": (elbo.elbo_gap_explorer, set()),
    "lesson 1 · IWAE k": (elbo.iwae_explorer, set()),
    "lesson 2 · estimator variance": (reparam.variance_explorer, {"mu", "log_sigma"}),
    "lesson 2 · pathwise vs score, ω": (reparam.frequency_explorer, set()),
    "lesson 2 · Gumbel-softmax τ": (reparam.gumbel_explorer, set()),
}


def _values(control, count=8):
    options = getattr(control, "options", None)
    if options:
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        step = max(1, len(values) // count)
        return values[::step]
    lo, hi = control.min, control.max
    if control.__class__.__name__ == "FloatLogSlider":
        lo, hi = control.base ** lo, control.base ** hi
        return [lo * (hi / lo) ** (i / (count - 1)) for i in range(count)]
    return [lo + (hi - lo) * i / (count - 1) for i in range(count)]


def measure():
    """{explorer: {control: (median ms, max ms, recomputes)}}."""
    results = {}
    for title, (build, recomputing) in EXPLORERS.items():
        live = build()
        results[title] = {}
        for name, control in live.controls.items():
            start = len(live.timings_ms)
            for value in _values(control):
                live.set(**{name: value})
            times = live.timings_ms[start:]
            results[title][name] = (statistics.median(times), max(times), name in recomputing)
    return results


def measure_cached_training(steps=200):
    """Move the lesson 1 latent-size slider across every value twice: the first pass trains
    (seconds), the second only loads from the in-memory cache.  -> (first pass ms, second pass ms) medians."""

    clear_memory()
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as folder:   # never the learner's cache
        live = elbo.latent_size_explorer(load_fashion_mnist(n_train=2000, n_test=100), steps=steps,
                                         cache_directory=folder)
        sizes = list(elbo.LATENT_SIZES)
        for sweep in (sizes, sizes):
            for k in sweep:
                live.set(latent_dim=k)
    times = live.timings_ms[1:]
    first, second = times[:len(sizes)], times[len(sizes):]
    return statistics.median(first), statistics.median(second)


def measure_sweeps(steps=20):
    """The sliders over trained sweeps (lessons 3–8), lesson 5's depth slider and lesson 6's sample-size slider, on small sweeps (trained into a temporary
    cache first; the timing is of the slider only).  -> {title: (median ms, max ms)}."""

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as folder:
        old = os.environ.get("COURSE_LIB_CACHE")
        os.environ["COURSE_LIB_CACHE"] = folder
        try:
            data = load_fashion_mnist(n_train=1000, n_test=200)
            models = [m for m, _ in rate_distortion.train_beta_sweep(data, steps=steps)]
            measured = rate_distortion.measure_sweep(models, data, n_test=200, k=5)
            sprites = make_sprites(1000, seed=0)
            sprite_models = [m for m, _ in beta_vae.train_sweep(sprites, "beta", beta_vae.BETAS, steps=steps)]
            scores = beta_vae.scores(sprite_models, sprites)
            free_bits = hierarchical.train_free_bits_sweep(data.x_train, steps=steps)
            test = hierarchical.binarized(data.x_test)
            free_bits_results = [hierarchical.evaluate(m, test, k=5) for m, _ in free_bits]
            lambda_sweep = wae.train_lambda_sweep(data.x_train, steps=steps)
            energy_depths, coupling_depths = (1, 2, 4), (1, 2)
            energy_flows = flows.train_energy_flows(steps, depths=energy_depths)
            energy_kl = {key: flows.reverse_kl(flow, key[1], n=500) for key, (flow, _) in energy_flows.items()}
            couplings = flows.train_coupling_flows(steps, depths=coupling_depths, n=2000)
            vae, _ = divergences.train_vae(data.x_train, steps)
            ais_results = divergences.ais_on_vae(vae, (data.x_test[:2] > 0.5).float(), steps=(1, 5, 20), chains=8)
            iwae = divergences.iwae_values(vae, (data.x_test[:2] > 0.5).float(), ks=(1, 100))
            x_toy, x_toy_test = hybrids.toy_data(2000)
            infogans = hybrids.train_infogans(x_toy, steps)
            control = [hybrids.code_control(m, x_toy_test[:500], n=100) for m, _ in infogans]
        finally:
            if old is None:
                os.environ.pop("COURSE_LIB_CACHE", None)
            else:
                os.environ["COURSE_LIB_CACHE"] = old
            clear_memory()
    explorers = {
        "lesson 3 · β sweep": (rate_distortion.beta_explorer(models, measured, rate_distortion.BETAS,
                                                              data.x_test[:8]), "beta"),
        "lesson 4 · β sweep (C, 8b β-TCVAE: same)": (beta_vae.sweep_explorer(sprite_models, beta_vae.BETAS, scores, sprites.images[0],
                                                           sprites.factor_names), "value"),
        "lesson 5 · free bits λ": (hierarchical.free_bits_explorer(hierarchical.FREE_BITS,
                                                                   free_bits_results), "lam"),
        "lesson 5 · residual stack depth": (hierarchical.depth_explorer(), "depth"),
        "lesson 6 · MMD sample size": (wae.bias_explorer(wae.estimator_draws(repeats=400)), "n"),
        "lesson 6 · λ sweep": (wae.lambda_explorer(lambda_sweep, wae.LAMBDAS, data.x_test), "lam"),
        "lesson 7 · flow depth K": (flows.energy_explorer(energy_flows, energy_kl, energy_depths), "depth"),
        "lesson 7 · flow target U1-U4": (flows.energy_explorer(energy_flows, energy_kl, energy_depths), "energy"),
        "lesson 7 · coupling layers": (flows.coupling_explorer(couplings, coupling_depths), "depth"),
        "lesson 8 · α": (divergences.alpha_explorer(divergences.ALPHAS, divergences.vr_sandbox(divergences.ALPHAS, k=500)),
                         "alpha"),
        "lesson 8 · AIS steps T": (divergences.ais_explorer(ais_results, iwae), "T"),
        "lesson 8b · InfoGAN λ": (hybrids.infogan_explorer(control, hybrids.INFO_LAMS, x_toy_test), "lam")}
    for title, (live, name) in explorers.items():
        start = len(live.timings_ms)
        for value in _values(live.controls[name]) * 2:
            live.set(**{name: value})
        times = live.timings_ms[start:]
        results[title] = (statistics.median(times), max(times))
    return results


def main():
    slowest_redraw = 0.0
    for title, controls in measure().items():
        for name, (median, worst, recomputes) in controls.items():
            kind = "recomputes" if recomputes else "redraw"
            print(f"{title:36s} {name:10s} {kind:10s} median {median:6.1f} ms   max {worst:6.1f} ms")
            if not recomputes:
                slowest_redraw = max(slowest_redraw, median)
    for title, (median, worst) in measure_sweeps().items():
        print(f"{title:36s} {'slider':10s} {'redraw':10s} median {median:6.1f} ms   max {worst:6.1f} ms")
        slowest_redraw = max(slowest_redraw, median)
    first, again = measure_cached_training()
    print(f"{'lesson 1 · latent size (trains)':36s} {'latent_dim':10s} {'first move':10s} median {first:6.1f} ms "
          f"(trains 200 steps); moving back: median {again:.1f} ms (cached)")
    print(f"slowest median redraw: {slowest_redraw:.1f} ms (target < 150 ms)")


if __name__ == "__main__":
    main()
