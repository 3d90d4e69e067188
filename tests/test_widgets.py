"""The lessons' sliders, driven from code: every control changes its figure."""
import numpy as np
import pytest

from course_lib.errors import CourseInputError
from course_lib.lessons import elbo, reparam
from course_lib.widgets import LiveFigure, float_slider, new_figure

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
    from PIL import Image
    import io
    for m in np.linspace(-1, 2, 4):
        live.set(m=float(m))
        sizes.add(Image.open(io.BytesIO(bytes(live.image.value))).size)
    assert len(sizes) == 1
