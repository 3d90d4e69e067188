"""Sliders that redraw a figure: the plumbing every lesson reuses.

A :class:`LiveFigure` owns one matplotlib ``Figure`` and a set of ipywidgets
controls.  When a control moves, ``update(fig, **values)`` changes the figure
(ideally by moving existing artists, which is fast), the figure is drawn
on an Agg canvas, encoded as PNG (light compression: encoding is most of the
cost) and shown in an ``ipywidgets.Image``.  The layout is computed on the
first draw and then frozen, so axes do not jump while a slider moves.  Nothing but ipywidgets is
needed in the browser, and every update is timed (``timings_ms``).

Anything ``update`` prints, and progress bars of training it starts (for
example through :func:`course_lib.cached_fit`), appear in the widget's output
area; a ``CourseError`` raised by ``update`` is shown there as one line.
Interrupting the kernel while a slider's update runs (say, a training) leaves
the figure as it was and usable; nothing half-trained is cached, so moving the
slider back there trains again.
"""
import base64
import html
import io
import math
import time

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ..errors import CourseError, CourseInputError, check_choice, check_number
from ..settings import static_mode


def float_slider(description, min, max, value, step=None, log=False, **kwargs):
    """A labelled float slider; ``log=True`` moves in equal ratios (``base`` 10)."""
    lo, hi = check_number("min", min), check_number("max", max)
    if not lo < hi:
        raise CourseInputError(f"a slider needs min < max, got min={lo}, max={hi}.")
    check_number("value", value, minimum=lo, maximum=hi)
    if log and lo <= 0:
        raise CourseInputError(f"a log-scale slider needs min > 0, got min={lo}.")
    style = {"description_width": "initial"}
    kwargs.setdefault("layout", widgets.Layout(width="380px"))
    if log:
        return widgets.FloatLogSlider(value=value, min=math.log10(min), max=math.log10(max),
                                      step=step or 0.05, description=description, style=style,
                                      continuous_update=True, **kwargs)
    return widgets.FloatSlider(value=value, min=min, max=max, step=step or (max - min) / 100,
                               description=description, style=style, continuous_update=True, **kwargs)


def choice_slider(description, options, value=None, **kwargs):
    """A slider over a fixed list of values (e.g. k = 1, 2, 5, 10, ...)."""
    options = list(options)
    if not options:
        raise CourseInputError("options must hold at least one value for a choice slider.")
    if value is not None:
        check_choice("value", value, options)
    kwargs.setdefault("layout", widgets.Layout(width="380px"))
    return widgets.SelectionSlider(options=options, value=options[0] if value is None else value,
                                   description=description, style={"description_width": "initial"},
                                   continuous_update=True, **kwargs)


class LiveFigure:
    """One figure redrawn by sliders.

    fig:      a ``matplotlib.figure.Figure`` (use :func:`new_figure`; not pyplot,
              so the notebook does not show a second static copy)
    update:   ``update(fig, **values)``; called once at the start and after every change
    controls: ``{name: ipywidget}``; ``values`` maps each name to its widget's value
    animated: optional ``() -> artists`` that ``update`` changes (it must change nothing else, nor
              any axis limits): the rest is drawn once and every update redraws only these,
              which makes a busy figure several times faster
    """

    def __init__(self, fig, update, controls, dpi=80, animated=None):
        if not controls:
            raise CourseInputError("a LiveFigure needs at least one control.")
        if animated is not None and not callable(animated):
            raise CourseInputError("animated must be a function that returns the artists update() changes.")
        self.fig, self.update, self.controls = fig, update, dict(controls)
        self.animated, self._background = animated, None
        fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(fig)
        self._layout_frozen = False
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.output = widgets.Output()
        self.timings_ms = []
        self.message = None          # the last CourseError message shown, if any
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.redraw()
        box = widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([box, self.image, self.output])
        self.widget.add_class("course-live-figure")

    @property
    def values(self):
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values):
        """Move controls from code (as a learner would with the mouse)."""
        for name, value in values.items():
            self.controls[name].value = value

    def redraw(self):
        start = time.perf_counter()
        if self.output.outputs:
            self.output.clear_output(wait=True)
        self.message = None
        with self.output:
            try:
                self.update(self.fig, **self.values)
            except CourseError as e:
                self.message = f"{type(e).__name__}: {e}"
                print(self.message)
        self._render()
        if not self._layout_frozen:              # keep the first layout for every later frame
            self.fig.set_layout_engine("none")
            self._layout_frozen = True
        width, height = self.canvas.get_width_height()
        frame = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        frame.convert("RGB").save(buffer, format="png", compress_level=1)
        self.image.value = buffer.getvalue()
        self.timings_ms.append(1000 * (time.perf_counter() - start))

    def _render(self):
        """Draw the figure on the Agg canvas.  With ``animated``, everything else is drawn once and kept
        as a background; later frames restore it and draw only the changing artists (blitting)."""
        if self.animated is None:
            self.canvas.draw()
            return
        artists = list(self.animated())
        for artist in artists:
            artist.set_animated(True)
        if self._background is None:
            self.canvas.draw()                       # every artist but the animated ones
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        else:
            self.canvas.restore_region(self._background)
        for artist in artists:
            self.fig.draw_artist(artist)

    def _changed(self, change):
        try:
            self.redraw()
        except KeyboardInterrupt:        # the learner stopped a slow update (e.g. a training)
            self.message = ("Interrupted: the figure still shows the previous setting. "
                            "Move the slider to try again.")
            with self.output:
                print(self.message)

    def _ipython_display_(self):
        from IPython.display import HTML, display
        if static_mode():                 # a static page (make site): the first frame, labelled as such
            display(HTML(self.first_frame_html()))
        else:
            display(self.widget)

    def first_frame_html(self):
        """The current frame as an HTML figure, captioned with the controls' settings."""
        settings = html.escape(", ".join(f"{c.description or name} = {c.value}" for name, c in self.controls.items()))
        picture = base64.b64encode(self.image.value).decode("ascii")
        return (f'<figure class="course-first-frame"><img src="data:image/png;base64,{picture}" '
                f'style="max-width:100%"><figcaption><b>First frame of a live figure</b> ({settings}). '
                "Open the notebook in JupyterLab to move its sliders.</figcaption></figure>")


def new_figure(ncols=1, nrows=1, width=4.0, height=3.0, **kwargs):
    """A figure with a grid of axes that is *not* registered with pyplot.  -> (fig, axes)."""
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes
