"""The lessons' sliders, driven from code: every control changes its figure."""
import numpy as np
import pytest

from course_lib.errors import CourseInputError
from course_lib.figures.widgets import LiveFigure, float_slider, new_figure
from course_lib.lessons import elbo, reparam

EXPLORERS = {
    "elbo_gap": elbo.elbo_gap_explorer,
    "iwae": lambda: elbo.iwae_explorer(reps=50),
    "variance": lambda: reparam.variance_explorer(reps=50),
    "frequency": reparam.frequency_explorer,
    "gumbel": reparam.gumbel_explorer,
}


def another_value(control):
    if hasattr(control, "options") and control.options:
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return values[-1] if control.value != values[-1] else values[0]
    return control.max if control.value != control.max else control.min


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_every_control_redraws_the_figure(name):
    live = EXPLORERS[name]()
    assert bytes(live.image.value).startswith(b"\x89PNG")
    for control_name, control in live.controls.items():
        before = bytes(live.image.value)
        live.set(**{control_name: another_value(control)})
        assert bytes(live.image.value) != before, f"moving {control_name} did not change the figure"
    assert len(live.timings_ms) == 1 + len(live.controls)
    assert live.message is None                          # no error shown


def test_elbo_explorer_shows_the_exact_decomposition():
    model, x = elbo.lesson_model()
    for m, log_s in ((0.0, 0.0), (1.2, -1.0), (-1.0, 0.8)):
        log_px, e, kl = elbo.decomposition(model, x, m, log_s)
        assert abs(log_px - (e + kl)) < 1e-10 and kl > 0


def test_course_errors_in_an_update_are_shown_as_one_line():
    fig, ax = new_figure()

    def update(fig, beta):
        if beta < 0:
            raise CourseInputError("beta must be >= 0, got -1.0.")
        ax.plot([0, 1], [0, beta])

    live = LiveFigure(fig, update, {"beta": float_slider("β", -1.0, 1.0, 0.5)})
    live.set(beta=-1.0)
    assert live.message == "CourseInputError: beta must be >= 0, got -1.0."
    live.set(beta=0.2)
    assert live.message is None
    with pytest.raises(CourseInputError, match="at least one control"):
        LiveFigure(fig, update, {})


def test_figures_keep_their_size_between_updates():
    live = elbo.elbo_gap_explorer()
    sizes = set()
    import io

    from PIL import Image
    for m in np.linspace(-1, 2, 4):
        live.set(m=float(m))
        sizes.add(Image.open(io.BytesIO(bytes(live.image.value))).size)
    assert len(sizes) == 1


def test_plain_log_ticks_label_log_axes_in_plain_numbers():
    from course_lib.figures.plots import plain_log_ticks
    fig, ax = new_figure()
    ax.set(xscale="log", yscale="log", xlim=(10, 100), ylim=(2.5, 45))
    plain_log_ticks(ax, "x", at=[16, 64])
    plain_log_ticks(ax, "y")
    fig.canvas.draw()

    def shown(axis, low, high):                             # the labels matplotlib draws inside the limits
        coordinate = 0 if axis is ax.xaxis else 1
        return [t.get_text() for t in axis.get_ticklabels(which="both")
                if t.get_text() and low <= t.get_position()[coordinate] <= high]
    assert shown(ax.xaxis, 10, 100) == ["16", "64"]
    assert shown(ax.yaxis, 2.5, 45) == ["5", "10", "20"]    # 1-2-5 steps, no "3×10⁰"


def test_plot_history_names_its_unit_and_shows_a_short_run():
    import matplotlib.pyplot as plt

    import course_lib as cl
    history = cl.History(steps=[10], terms={"bits/dim": [6.6]})     # a fast-mode run: one logged point
    ax = cl.plot_history(history, terms=("bits/dim",), ylabel="bits per dimension")
    assert ax.get_ylabel() == "bits per dimension"
    assert ax.lines[0].get_marker() == "o"                           # a line through one point draws nothing
    plt.close(ax.figure)


def test_quadrature_matches_the_exact_marginal():
    model, x = elbo.lesson_model()
    import torch
    xs = torch.cat([x, model.sample(4, generator=torch.Generator().manual_seed(0))[0]])
    torch.testing.assert_close(elbo.quadrature_log_marginal(model, xs), model.log_marginal(xs), rtol=0, atol=1e-8)


def test_best_mean_field_q_is_the_elbo_maximum_and_its_gap_is_the_formula():
    import torch

    from course_lib import LinearGaussianModel
    model = LinearGaussianModel.random(d=4, k=2, sigma2=1.0, seed=28)   # correlation about -0.7
    x, _ = model.sample(1, generator=torch.Generator().manual_seed(1))
    q_mean, q_log_var, gap = elbo.best_mean_field(model, x)
    torch.testing.assert_close(model.kl_to_posterior(x, q_mean, q_log_var).item(), gap)
    assert gap > 0.3                                    # this posterior is correlated
    # no diagonal q does better: gradient ascent from elsewhere ends at the same ELBO
    m = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    lv = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([m, lv], lr=0.05)
    for _ in range(3000):
        opt.zero_grad()
        (-model.elbo(x, m, lv).sum()).backward()
        opt.step()
    best = model.elbo(x, q_mean, q_log_var).item()
    assert abs(model.elbo(x, m, lv).item() - best) < 1e-6


def test_maximising_the_elbo_over_theta_is_not_maximising_log_px():
    """With the best diagonal q for every model: rotating the latent space leaves log p(x) flat while the best
    ELBO moves (and peaks where W's columns are orthogonal); scanning σ², the best ELBO prefers a noisier model
    than the likelihood does."""
    import torch

    from course_lib import LinearGaussianModel
    model = LinearGaussianModel.random(d=4, k=2, sigma2=1.0, seed=28)
    x, _ = model.sample(500, generator=torch.Generator().manual_seed(2))
    scan = elbo.rotation_scan(model, x, np.linspace(0, np.pi, 91))
    assert np.ptp(scan["log p"]) < 1e-8 * abs(scan["log p"][0])
    assert (scan["best elbo"] <= scan["log p"] + 1e-9).all() and np.ptp(scan["best elbo"]) > 10
    assert abs(scan["column cosine"][scan["best elbo"].argmax()]) < 0.1
    grid = np.linspace(0.5, 2.0, 151)
    s = elbo.sigma2_scan(model, x, grid)
    assert grid[s["best elbo"].argmax()] - grid[s["log p"].argmax()] > 0.05
    assert s["log p"].max() - s["log p"][s["best elbo"].argmax()] > 1


def test_a_training_slider_trains_once_per_value_and_moving_back_is_cached(monkeypatch):
    import torch

    from course_lib.data import ImageData
    calls = []
    real_fit = elbo.fit

    def counting_fit(*args, **kwargs):
        calls.append(kwargs.get("desc"))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(elbo, "fit", counting_fit)
    x = torch.rand(64, 1, 28, 28)
    data = ImageData(x, torch.zeros(64, dtype=torch.long), x[:8], torch.zeros(8, dtype=torch.long), source="test")
    live = elbo.latent_size_explorer(data, steps=2)
    first = bytes(live.image.value)
    live.set(latent_dim=2)
    assert bytes(live.image.value) != first
    live.set(latent_dim=8)                                   # back to the first value: no new training
    assert len(calls) == 2 and live.message is None
    # Where only trained models may be used (make site), it says which sizes it would train instead of training;
    # with every size trained it is the live figure again.
    monkeypatch.setenv("COURSE_LIB_CACHED_ONLY", "1")
    note = elbo.latent_size_explorer(data, steps=2)
    assert "live only in JupyterLab" in note.data and "4, 16, 32" in note.data and len(calls) == 2
    monkeypatch.delenv("COURSE_LIB_CACHED_ONLY")
    for k in (4, 16, 32):
        live.set(latent_dim=k)
    monkeypatch.setenv("COURSE_LIB_CACHED_ONLY", "1")
    assert isinstance(elbo.latent_size_explorer(data, steps=2), elbo.LiveFigure)



def test_bad_slider_settings_are_explained():
    from course_lib.figures.widgets import choice_slider
    with pytest.raises(CourseInputError, match="log-scale slider needs min > 0"):
        float_slider("τ", 0.0, 5.0, 1.0, log=True)
    with pytest.raises(CourseInputError, match="min < max"):
        float_slider("β", 2.0, 1.0, 1.5)
    with pytest.raises(CourseInputError, match=r"value must be <= 1\.0"):
        float_slider("β", 0.0, 1.0, 3.0)
    with pytest.raises(CourseInputError, match="value must be one of 1, 2, 5; got 3"):
        choice_slider("k", (1, 2, 5), value=3)
    import torch

    from course_lib import LinearGaussianModel
    with pytest.raises(CourseInputError, match=r"one-dimensional latent.*k = 2"):
        elbo.quadrature_log_marginal(LinearGaussianModel.random(d=3, k=2), torch.zeros(1, 3))


def test_interrupting_a_training_slider_keeps_the_figure_usable_and_caches_nothing():
    import torch

    from course_lib import VAE, cache, cached_fit, fit
    from course_lib.figures.widgets import choice_slider
    x = torch.rand(32, 1, 28, 28)
    calls = []

    def train(model):
        calls.append(model)
        if len(calls) == 2:
            raise KeyboardInterrupt          # the learner presses "interrupt" during the second training
        return fit(model, x, steps=2, log_every=1, progress=False)

    fig, ax = new_figure()

    def update(fig, latent):
        _model, history = cached_fit("slider", {"latent": latent}, lambda: VAE.mlp(latent_dim=latent, hidden=(8,)), train)
        ax.clear()
        ax.plot(history["loss"], marker="o")
        ax.set_title(f"latent {latent}")

    live = LiveFigure(fig, update, {"latent": choice_slider("latent", [1, 2, 3])})
    first = bytes(live.image.value)
    live.set(latent=2)                                            # interrupted: no exception reaches the widget
    assert live.message.startswith("Interrupted") and bytes(live.image.value) == first
    assert len(list(cache.cache_dir().glob("slider-*.pt"))) == 1  # only latent 1 was stored
    live.set(latent=3)
    live.set(latent=2)                                            # back there: it trains again, and works
    assert len(calls) == 4 and live.message is None
    assert bytes(live.image.value) != first
    assert len(list(cache.cache_dir().glob("slider-*.pt"))) == 3


@pytest.fixture(scope="module")
def small_sweeps(tmp_path_factory):
    """Tiny trained sweeps for the lesson 3 and 4 sliders (a few steps: the sliders, not the models, are tested)."""
    import course_lib as cl
    from course_lib import cache
    from course_lib.lessons import beta_vae, rate_distortion
    patch = pytest.MonkeyPatch()
    patch.setenv("COURSE_LIB_CACHE", str(tmp_path_factory.mktemp("cache")))
    data = cl.load_fashion_mnist(n_train=256, n_test=64, source="subset")
    models = [m for m, _ in rate_distortion.train_beta_sweep(data, steps=3, device="cpu")]
    measured = rate_distortion.measure_sweep(models, data, n_test=64, k=2)
    sprites = cl.make_sprites(200, seed=0)
    sprite_models = [m for m, _ in beta_vae.train_sweep(sprites, "beta", beta_vae.BETAS, steps=3, device="cpu")]
    scores = beta_vae.scores(sprite_models, sprites)
    cache.clear_memory()
    patch.undo()
    return {"beta": lambda: rate_distortion.beta_explorer(models, measured, rate_distortion.BETAS, data.x_test[:8]),
            "sprites": lambda: beta_vae.sweep_explorer(sprite_models, beta_vae.BETAS, scores, sprites.images[0],
                                                       sprites.factor_names)}


@pytest.mark.parametrize("name", ["beta", "sprites"])
def test_the_sweep_sliders_redraw_for_every_value(small_sweeps, name):
    live = small_sweeps[name]()
    control = next(iter(live.controls.values()))
    values = [o[1] if isinstance(o, tuple) else o for o in control.options]
    images = {bytes(live.image.value)}
    for value in values:
        live.set(**{next(iter(live.controls)): value})
        images.add(bytes(live.image.value))
    assert len(images) == len(values) and live.message is None


def test_blitting_gives_the_same_picture_as_a_full_redraw():
    """With ``animated``, only the changing artists are redrawn over a kept background: same pixels, less work."""
    from course_lib.figures.widgets import choice_slider

    def build(animated):
        fig, ax = new_figure()
        ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** 2, color="C0")
        ax.set(xlim=(0, 1), ylim=(0, 1), title="fixed axes")
        (marker,) = ax.plot([], [], "o", color="C3", ms=10, zorder=5)

        def update(fig, t):
            marker.set_data([t], [t ** 2])

        return LiveFigure(fig, update, {"t": choice_slider("t", [0.2, 0.5, 0.8])},
                          animated=(lambda: [marker]) if animated else None)

    full, blit = build(False), build(True)
    for t in (0.5, 0.8, 0.2):
        full.set(t=t)
        blit.set(t=t)
        assert np.array_equal(np.asarray(full.canvas.buffer_rgba()), np.asarray(blit.canvas.buffer_rgba())), t
    with pytest.raises(CourseInputError, match="animated must be a function"):
        LiveFigure(new_figure()[0], lambda fig, t: None, {"t": choice_slider("t", [1])}, animated=[1])


# -- frames drawn once; the static page's frames -----------------------------------------------

def _counting_figure(fresh=False, predraw=True, max_frames=256, values=(1, 2, 3), other=("a", "b")):
    from course_lib.figures.widgets import choice_slider
    fig, ax = new_figure()
    (line,) = ax.plot([0, 1], [0, 1])
    ax.set_ylim(0, 4)
    calls = []

    def update(fig, k, s):
        calls.append((k, s))
        line.set_ydata([0, k if s == "a" else k / 2])

    live = LiveFigure(fig, update, {"k": choice_slider("k", list(values)), "s": choice_slider("s", list(other))},
                      fresh=fresh, predraw=predraw, max_frames=max_frames)
    return live, calls


def test_a_position_drawn_once_is_shown_again_without_calling_update():
    live, calls = _counting_figure()
    first = bytes(live.image.value)
    live.set(k=3)
    third = bytes(live.image.value)
    live.set(k=1)
    assert bytes(live.image.value) == first and len(calls) == 2          # the start and k = 3 only
    live.set(k=3)
    assert bytes(live.image.value) == third and len(calls) == 2


def test_the_frames_one_key_press_away_are_drawn_as_the_figure_is_shown(capsys):
    """Showing a figure draws, at once, a step either way and both ends of every control (what the arrow keys and
    Home or End give), so a first move never waits for a draw; fresh figures and predraw=False draw nothing, and a
    figure whose update prints stops drawing ahead."""
    live, calls = _counting_figure(values=(1, 2, 3, 4))
    live._ipython_display_()
    capsys.readouterr()
    assert set(live.frames) == {(1, "a"), (2, "a"), (4, "a"), (1, "b")}     # shown at k = 1, s = "a": k's step and
    assert calls[-1] == (1, "a")                                           # end, s's step; the figure left as it was
    before = len(calls)
    live.set(k=4)
    live.set(s="b")
    assert len(calls) == before + 1                                        # (4, "b") is two moves away: drawn now
    for figure in (_counting_figure(fresh=True)[0], _counting_figure(predraw=False)[0]):
        assert figure.draw_first_moves() == 0 and len(figure.frames) <= 1
    from course_lib.figures.widgets import choice_slider
    fig, _ = new_figure()
    talking = LiveFigure(fig, lambda fig, k: print("k is", k), {"k": choice_slider("k", [1, 2, 3])})
    assert talking.draw_first_moves() == 0 and not talking.predraw


def test_predrawn_frames_are_the_pictures_a_move_would_draw():
    live, calls = _counting_figure()
    assert live.predraw_all() == 5 and len(live.frames) == 6             # the grid: 3 x 2 positions
    fresh, _ = _counting_figure(fresh=True)
    for k in (1, 2, 3):
        for s in ("a", "b"):
            fresh.set(k=k, s=s)
            assert live.frames[(k, s)] == bytes(fresh.image.value), (k, s)
    before = len(calls)
    live.set(k=2, s="b")
    assert len(calls) == before                                          # a move sends bytes it has


def test_a_fresh_figure_keeps_no_frame_and_a_trained_one_draws_nothing_ahead():
    live, calls = _counting_figure(fresh=True)
    live.set(k=2)
    live.set(k=1)
    assert len(calls) == 3 and not live.frames and live.predraw_all() == 0
    live, calls = _counting_figure(predraw=False)
    assert live.predraw_all() == 0 and len(live.frames) == 1             # only what was visited


def test_the_kept_frames_are_bounded():
    live, _ = _counting_figure(max_frames=2, values=(1, 2, 3, 4))
    for k in (2, 3, 4):
        live.set(k=k)
    assert list(live.frames) == [(3, "a"), (4, "a")]


def test_a_static_page_carries_every_frame_of_the_grid_and_a_switcher():
    import base64
    import json
    import re
    live, _ = _counting_figure()
    page = live.static_html()
    frames = json.loads(re.search(r'<script type="application/json" class="course-frames">(.*?)</script>',
                                  page).group(1))
    assert sorted(frames) == [f"{i}-{j}" for i in range(3) for j in range(2)]
    import io

    from PIL import Image

    from course_lib.figures.widgets import static_png
    assert base64.b64decode(frames["2-1"]) == static_png(live.frames[(3, "b")])   # the kernel's own picture,
    page_pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(frames["2-1"]))).convert("RGB"), float)
    kernel_pixels = np.asarray(Image.open(io.BytesIO(live.frames[(3, "b")])).convert("RGB"), float)
    assert np.abs(page_pixels - kernel_pixels).mean() < 2.0                          # in a 256-colour palette
    assert page.count('type="range"') == 2 and "addEventListener" in page and "http" not in page


def test_float_sliders_are_sampled_for_a_static_page_within_the_cap():
    live = elbo.elbo_gap_explorer()
    positions = live.static_positions()
    sizes = [len(v) for v in positions.values()]
    assert np.prod(sizes) <= LiveFigure.STATIC_FRAMES and min(sizes) >= 2
    for name, control in live.controls.items():
        assert control.value in positions[name]
        assert min(positions[name]) == pytest.approx(control.min) and max(positions[name]) == pytest.approx(control.max)


@pytest.mark.parametrize("build, moves", [
    (elbo.elbo_gap_explorer, [dict(m=0.5), dict(log_s=-2.0), dict(m=-0.7, log_s=0.6)]),
    (reparam.gumbel_explorer, [dict(tau=0.1), dict(tau=3.0)]),
    (lambda **kw: reparam.variance_explorer(reps=20, **kw), [dict(log_sigma=-1.5), dict(mu=3.0, n=1024),
                                                             dict(mu=-2.0, log_sigma=1.0, n=1)]),
], ids=["lesson 1 ELBO gap", "lesson 2 Gumbel-softmax", "lesson 2 estimator variance"])
def test_the_blitted_sliders_of_lessons_1_and_2_draw_what_a_full_redraw_draws(build, moves):
    blitted, full = build(), build(blit=False)
    for move in moves:
        blitted.set(**move)
        full.set(**move)
        a, b = np.asarray(blitted.canvas.buffer_rgba()), np.asarray(full.canvas.buffer_rgba())
        assert a.shape == b.shape and (a != b).any(axis=-1).mean() < 0.002, move     # at most a few pixels


def test_the_estimator_figures_fixed_scale_holds_its_lines_at_every_corner_of_the_sliders():
    """Lesson 2's right panel keeps one scale (so it can be blitted): the measured variances stay inside it."""
    live = reparam.variance_explorer(reps=20)
    low, high = live.fig.axes[1].get_ylim()
    for mu in (-2.0, 3.0):
        for log_sigma in (-1.5, 1.0):
            live.set(mu=mu, log_sigma=log_sigma)
            values = np.concatenate([line.get_ydata() for line in live.fig.axes[1].lines if len(line.get_ydata())])
            assert low < values.min() and values.max() < high, (mu, log_sigma)


def test_a_static_page_refuses_a_position_it_cannot_draw_instead_of_showing_another_one():
    from course_lib.errors import CourseError
    from course_lib.figures.widgets import choice_slider
    fig, ax = new_figure()

    def update(fig, k):
        if k == 3:
            raise CourseInputError("k = 3 is not allowed here")
        ax.set_title(str(k))

    live = LiveFigure(fig, update, {"k": choice_slider("k", [1, 2, 3])})
    with pytest.raises(CourseError, match=r"cannot be drawn at \{'k': 3\}.*k = 3 is not allowed"):
        live.static_html()
    with pytest.raises(CourseInputError, match="max_frames"):
        LiveFigure(fig, update, {"k": choice_slider("k", [1, 2])}, max_frames="many")


def _float_figure(fresh=False):
    from course_lib.figures.widgets import choice_slider, float_slider
    fig, ax = new_figure()
    (line,) = ax.plot([0, 1], [0, 1])
    ax.set_ylim(-3, 3)
    calls = []

    def update(fig, m, log_s, k):
        calls.append((m, log_s, k))
        line.set_ydata([0, m * log_s * k])

    controls = {"m": float_slider("m", -1.0, 1.0, 0.0, step=0.1), "log_s": float_slider("s", 0.1, 10.0, 1.0, log=True),
                "k": choice_slider("k", [1, 2, 3], value=1)}
    return LiveFigure(fig, update, controls, fresh=fresh), calls


def test_float_sliders_draw_ahead_the_positions_one_step_away_and_find_them_after_the_browsers_arithmetic():
    live, calls = _float_figure()
    neighbours = live.neighbours()
    assert sorted(round(v["m"], 12) for v in neighbours if v["m"] != 0.0) == [-0.1, 0.1]
    assert sorted(round(v["log_s"], 9) for v in neighbours if v["log_s"] != 1.0) == [round(10 ** -0.05, 9),
                                                                                     round(10 ** 0.05, 9)]
    assert [v["k"] for v in neighbours if v["k"] != 1] == [2]          # k = 0 is out of range
    assert live.predraw_all() == 5 and live.predraw_all() == 0
    fresh, _ = _float_figure(fresh=True)
    before = len(calls)
    for move in (dict(m=0.1), dict(m=0.0), dict(log_s=10 ** 0.05), dict(log_s=1.0), dict(k=2)):
        live.set(**move)
        fresh.set(**move)
        assert bytes(live.image.value) == bytes(fresh.image.value), move
    assert len(calls) == before                                        # every move found its frame
    live.set(m=0.1 + 0.2)                                              # 0.30000000000000004, as a browser adds
    assert live._position()[0] == 0.3
    live.set(m=0.0)
    calls.clear()
    live.set(m=0.3)
    assert not calls                                                   # the same frame
    fresh_only, fresh_calls = _float_figure(fresh=True)
    assert fresh_only.predraw_all() == 0 and len(fresh_calls) == 1     # a fresh figure draws nothing ahead


def test_after_a_move_only_the_moved_sliders_next_positions_and_ends_are_drawn_ahead_the_same_way_first():
    """One more step the same way, that way's end (the End or Home key), then the step back and the other end."""
    live, calls = _float_figure()
    live._missing_values = lambda: [dict(zip(live.controls, p)) for p in live._missing()]
    live.set(m=0.5)
    assert live._heading == ("m", 1)
    assert [round(v["m"], 9) for v in live._missing_values()] == [0.6, 1.0, 0.4, -1.0]
    live.set(m=0.4)
    assert live._heading == ("m", -1)
    assert [round(v["m"], 9) for v in live._missing_values()] == [0.3, -1.0, 1.0]        # 0.5 is kept
    live.set(k=3)
    assert live._heading == ("k", 1) and [v["k"] for v in live._missing_values()] == [2]
    assert live.predraw_all() == 1 and calls[-2:] == [(0.4, 1.0, 2), (0.4, 1.0, 3)]   # k = 2 drawn, then back


def test_drawing_ahead_gives_way_to_the_figure_a_learner_is_moving(monkeypatch):
    """A kernel runs one thing at a time: while a learner moves one figure, the others wait to draw
    ahead (a frame of theirs would delay the picture the learner waits for), and go on once the
    sliders have been left alone for QUIET_SECONDS."""
    import asyncio

    from course_lib.figures import widgets as live_figures

    async def scenario():
        moved, _ = _float_figure()
        other, _ = _float_figure()
        moved.set(m=0.5)                                  # in a running loop: moved draws ahead, other waits
        other._start_predraw()
        await asyncio.sleep(0.5)
        while_moving = len(other.frames)
        monkeypatch.setitem(live_figures._LAST_MOVE, "at", live_figures._LAST_MOVE["at"] - 10)   # left alone
        await asyncio.sleep(0.8)
        return while_moving, len(other.frames), len(moved.frames)

    while_moving, later, moved_frames = asyncio.run(scenario())
    assert while_moving == 1, "the other figure drew ahead while the learner moved a figure"
    assert later > 1 and moved_frames > 2


def test_a_figures_alternative_text_is_its_titles_and_what_its_axes_hold():
    from matplotlib.figure import Figure

    from course_lib.figures.alt_text import UNTITLED, describe
    fig = Figure()
    left, right, *grid = fig.subplots(1, 4)
    fig.suptitle("the β sweep")
    left.set(title="rate against β", xlabel="$\\beta$", ylabel="rate (nats)")
    right.set(ylabel="MIG")
    for ax in grid:
        ax.set_title("test images")
    assert describe(fig) == "the β sweep. rate against β (x: \\beta; y: rate (nats)). axes y: MIG. test images (×2)."
    assert describe(Figure()) == UNTITLED
