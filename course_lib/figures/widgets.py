"""Sliders that redraw a figure: the plumbing every lesson reuses.

A :class:`LiveFigure` owns one matplotlib ``Figure`` and a set of ipywidgets
controls.  When a control moves, ``update(fig, **values)`` changes the figure
(ideally by moving existing artists, which is fast), the figure is drawn
on an Agg canvas, encoded as PNG (light compression: encoding is most of the
cost) and shown in an ``ipywidgets.Image``.  The layout is computed on the
first draw and then frozen, so axes do not jump while a slider moves.  Nothing but ipywidgets is
needed in the browser, and every update is timed (``timings_ms``).

**Frames drawn once.**  A figure whose picture depends only on its sliders keeps the PNG of
every position it has drawn (at most ``max_frames``, 256 by default: a few MB; the oldest is
dropped first), so moving back to a position sends bytes it already has.  When every control is a
choice slider (trained sweeps, small grids) and the grid fits, it also draws all the other positions
once, in the background after it is first shown, one frame at a time between the kernel's messages,
so a learner's move never waits for it.  Where there is no such grid (float sliders), it draws ahead
only the positions one step of one control away (what an arrow key gives); after a move, the moved
control's next step the same way first, then its end that way (what the End or Home key gives), the
step back and the other end.  While a learner moves one figure, the others wait to draw ahead: the
kernel does one thing at a time, and their frames would delay the picture the learner waits for.  So the frames
one key press away (a step either way and both ends of every control) are drawn as the figure is shown, before
anything else can hold up a first move.  ``fresh=True`` (sliders that draw new random numbers: a new
Monte Carlo run is a new picture) turns both off; ``predraw=False`` keeps the frames but draws only
positions a learner visits (sliders that train a model on their first visit).

**On a static page** (``make site``, ``COURSE_LIB_STATIC=1``) the figure draws the frames of its
whole grid, at most ``STATIC_FRAMES`` of them (a float slider is sampled at evenly spaced values),
stores each with a 256-colour palette (:func:`static_png`), and shows them with plain HTML range
inputs and a few lines of script: no kernel, no server.

Anything ``update`` prints, and progress bars of training it starts (for
example through :func:`course_lib.cached_fit`), appear in the widget's output
area; a ``CourseError`` raised by ``update`` is shown there as one line.
Interrupting the kernel while a slider's update runs (say, a training) leaves
the figure as it was and usable; nothing half-trained is cached, so moving the
slider back there trains again.
"""
import asyncio
import base64
import contextlib
import html
import io
import itertools
import json
import math
import time
import uuid
from collections import OrderedDict

import ipywidgets as widgets
from IPython.display import HTML, display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ..errors import CourseError, CourseInputError, check_choice, check_int, check_number
from ..settings import budget, static_mode
from .alt_text import describe


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


# The figure a learner moved last, and when: drawing ahead gives way to it.  A kernel runs one thing at
# a time, so a frame that another figure draws ahead (a whole grid of frames can take seconds) would
# hold up the picture the learner is waiting for by up to one frame's drawing.
_LAST_MOVE = {"figure": None, "at": -math.inf}
QUIET_SECONDS = 1.0          # other figures draw ahead only after the learner has left the sliders this long


class LiveFigure:
    """One figure redrawn by sliders.

    fig:      a ``matplotlib.figure.Figure`` (use :func:`new_figure`; not pyplot,
              so the notebook does not show a second static copy)
    update:   ``update(fig, **values)``; called once at the start and after every change
    controls: ``{name: ipywidget}``; ``values`` maps each name to its widget's value
    animated: optional ``() -> artists`` that ``update`` changes (it must change nothing else, nor
              any axis limits): the rest is drawn once and every update redraws only these,
              which makes a busy figure several times faster
    fresh:    True if ``update`` draws new random numbers (or otherwise gives a new picture for the
              same values): no frame is kept or drawn ahead
    predraw:  draw ahead in the background (default True): every position of an all-choice-slider
              grid, else the positions one step from the current one; False for sliders whose first
              visit trains a model
    max_frames: how many drawn frames are kept (PNG bytes, oldest dropped first)
    """

    FIRST_MOVES = 8             # frames drawn as the figure is shown: a step either way and both ends of each control
    STATIC_FRAMES = 81          # frames per figure on a static page, at most (16 in fast mode: a test build)

    def __init__(self, fig, update, controls, dpi=80, animated=None, fresh=False, predraw=True, max_frames=256):
        if not controls:
            raise CourseInputError("a LiveFigure needs at least one control.")
        if animated is not None and not callable(animated):
            raise CourseInputError("animated must be a function that returns the artists update() changes.")
        self.fig, self.update, self.controls = fig, update, dict(controls)
        self.animated, self._background = animated, None
        self.fresh, self.predraw = bool(fresh), bool(predraw)
        self.max_frames = check_int("max_frames", max_frames, minimum=1)
        self.frames = OrderedDict()          # position (tuple of values) -> PNG bytes
        self._predraw_started = False
        self._heading = None                 # (control, +1 or -1) of the last move: where to draw ahead
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
        if not self.predraw:
            self.widget.add_class("course-live-figure-trains")     # a first visit trains (the browser test tells)

    @property
    def values(self):
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values):
        """Move controls from code (as a learner would with the mouse)."""
        for name, value in values.items():
            self.controls[name].value = value

    def _position(self, values=None):
        """The key of a frame: the controls' values, floats to 10 significant digits (the browser's
        arithmetic for a step, 0.1 + 0.2, and this kernel's, may differ in the last bits)."""
        values = self.values if values is None else values
        return tuple(float(f"{v:.10g}") if isinstance(v, float) else v for v in (values[n] for n in self.controls))

    def neighbours(self, heading=None):
        """The positions one step of one control away from the current one: a choice slider's adjacent
        options, a float slider's value plus or minus its step (a log slider's: its exponent's step),
        within its range.  ``heading`` = (name, +1 or -1), the last move: only that control's two, the
        one further the same way first (a learner pressing an arrow key goes on).  -> a list of
        {name: value}"""
        out = []
        for name, control in self.controls.items():
            if heading is not None and name != heading[0]:
                continue
            if isinstance(control, widgets.SelectionSlider):
                options = list(control.options)
                i = options.index(control.value)
                moves = [options[j] for j in (i - 1, i + 1) if 0 <= j < len(options)]
            elif isinstance(control, widgets.FloatLogSlider):
                exponent = math.log(control.value, control.base)
                moves = [control.base ** e for e in (exponent - control.step, exponent + control.step)
                         if control.min - 1e-9 <= e <= control.max + 1e-9]
            else:
                moves = [v for v in (control.value - control.step, control.value + control.step)
                         if control.min - 1e-9 <= v <= control.max + 1e-9]
            if heading is not None and heading[1] > 0:
                moves = moves[::-1]                       # the step up first
            out += [{**self.values, name: v} for v in moves]
        return out

    def redraw(self):
        """Show the frame of the controls' current values: the kept one, or a newly drawn one."""
        start = time.perf_counter()
        position = self._position()
        if self.output.outputs:
            self.output.clear_output(wait=True)
        self.message = None
        if position in self.frames:
            self.frames.move_to_end(position)
            self.image.value = self.frames[position]
        else:
            with self.output:
                try:
                    self.update(self.fig, **self.values)
                except CourseError as e:
                    self.message = f"{type(e).__name__}: {e}"
                    print(self.message)
            png = self._draw_png()
            if not self.fresh and not self.output.outputs:     # a frame with a message or a print is not kept
                self._keep(position, png)
            self.image.value = png
        self.timings_ms.append(1000 * (time.perf_counter() - start))

    def _draw_png(self):
        """Draw the figure as it is now; -> PNG bytes (light compression: encoding is most of the cost)."""
        self._render()
        if not self._layout_frozen:              # keep the first layout for every later frame
            self.fig.set_layout_engine("none")
            self._layout_frozen = True
        width, height = self.canvas.get_width_height()
        frame = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        frame.convert("RGB").save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def _keep(self, position, png):
        position = self._position(dict(zip(self.controls, position)))
        self.frames[position] = png
        self.frames.move_to_end(position)
        while len(self.frames) > self.max_frames:
            self.frames.popitem(last=False)

    def grid(self):
        """Every position of the controls, if all are choice sliders; else None."""
        if not all(isinstance(c, widgets.SelectionSlider) for c in self.controls.values()):
            return None
        return list(itertools.product(*[list(c.options) for c in self.controls.values()]))

    def _draw_quietly(self, values):
        """``update`` at ``values`` and the picture, with anything it prints caught.  A CourseError
        raised by ``update`` is raised.  -> (PNG bytes, whether it printed)"""
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            self.update(self.fig, **values)
        return self._draw_png(), bool(printed.getvalue())

    def draw_position(self, position):
        """Draw (and keep) the frame of one position without showing it or moving the controls.
        -> PNG bytes, or None if ``update`` printed or failed there (nothing kept then)."""
        try:
            png, printed = self._draw_quietly(dict(zip(self.controls, position)))
        except CourseError:
            return None
        if printed:
            return None
        if not self.fresh:
            self._keep(position, png)
        return png

    def predraw_all(self):
        """Draw every frame of the grid that is not kept yet, now.  -> how many were drawn."""
        todo = self._missing()
        for position in todo:
            self.draw_position(position)
        if todo:
            self.update(self.fig, **self.values)          # leave the figure as the controls say
        return len(todo)

    def draw_first_moves(self):
        """Draw now, as the figure is shown, the frames one key press away: one step either way of every control
        and its two ends (what the arrow keys and Home or End give), at most ``FIRST_MOVES`` of them.  A learner who
        turns to this figure while the kernel is busy with another then never waits for a draw on a first move.
        Nothing is drawn for ``fresh`` figures or with ``predraw=False``.  -> how many were drawn"""
        if self.fresh or not self.predraw:
            return 0
        first = self.neighbours() + [values for name in self.controls for values in self.ends(name)]
        todo, seen = [], set(self.frames)
        for values in first:
            key = self._position(values)
            if key not in seen:
                seen.add(key)
                todo.append(tuple(values[n] for n in self.controls))
        drawn = 0
        for position in todo[:self.FIRST_MOVES]:
            if self.draw_position(position) is None:     # it prints or fails there: nothing is drawn ahead
                self.predraw = False
                break
            drawn += 1
        if todo:
            self.update(self.fig, **self.values)          # leave the figure as the controls say
        return drawn

    def ends(self, name):
        """The two positions at the ends of control ``name``'s range (where Home and End take it), the
        other controls as they are.  -> a list of {name: value}"""
        control = self.controls[name]
        if isinstance(control, widgets.SelectionSlider):
            ends = [control.options[0], control.options[-1]]
        elif isinstance(control, widgets.FloatLogSlider):
            ends = [control.base ** control.min, control.base ** control.max]
        else:
            ends = [control.min, control.max]
        return [{**self.values, name: v} for v in ends]

    def _ahead(self):
        """Where the learner is likely to go next, nearest first: after a move, one more step the same
        way, that control's end that way (the End or Home key), the step back and the other end;
        before any move, one step of every control."""
        if self._heading is None:
            return self.neighbours()
        steps, ends = self.neighbours(self._heading), self.ends(self._heading[0])
        if self._heading[1] > 0:
            ends = ends[::-1]
        return [*steps[:1], *ends[:1], *steps[1:], *ends[1:]]

    def _missing(self):
        """The positions still to draw ahead, likeliest first: those of :meth:`_ahead`, then (where every
        control is a choice slider and the grid fits) the rest of the grid."""
        if self.fresh or not self.predraw:
            return []
        todo = [tuple(v[n] for n in self.controls) for v in self._ahead()]
        grid = self.grid()
        if grid is not None and len(grid) <= self.max_frames:
            todo += grid
        out, seen = [], set()
        for position in todo:
            key = self._position(dict(zip(self.controls, position)))
            if key not in self.frames and key not in seen:
                seen.add(key)
                out.append(position)
        return out

    def _start_predraw(self):
        """Draw the missing frames one by one on the kernel's event loop, between its messages; called
        when the figure is shown and after every move (a move re-aims it at the new position's neighbours)."""
        if self._predraw_started or not self._missing():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:                  # no event loop (a plain script): nothing drawn ahead
            return
        self._predraw_started = True

        def step():
            busy = _LAST_MOVE["figure"] is not self and time.monotonic() - _LAST_MOVE["at"] < QUIET_SECONDS
            if busy:                                   # the learner is moving another figure: wait
                loop.call_later(0.2, step)
                return
            todo = self._missing()
            if not todo:
                self.update(self.fig, **self.values)      # leave the figure as the controls say
                self._predraw_started = False
                return
            if self.draw_position(todo[0]) is None:      # it prints or fails there: not a pure picture,
                self.predraw = False                      # so nothing more is drawn ahead
                self.update(self.fig, **self.values)
                return
            loop.call_later(0.01, step)

        loop.call_later(0.05, step)

    def _heading_of(self, change):
        """(control name, +1 or -1) of a move, from the widget's change event; None if it cannot be told."""
        name = next((n for n, c in self.controls.items() if c is change.get("owner")), None)
        control = self.controls.get(name)
        old, new = change.get("old"), change.get("new")
        if control is None or old is None or new is None:
            return None
        if isinstance(control, widgets.SelectionSlider):
            options = list(control.options)
            if old not in options or new not in options:
                return None
            old, new = options.index(old), options.index(new)
        return (name, 1 if new > old else -1) if new != old else None

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
        _LAST_MOVE.update(figure=self, at=time.monotonic())
        try:
            self._heading = self._heading_of(change)
            self.redraw()
            self._start_predraw()
        except KeyboardInterrupt:        # the learner stopped a slow update (e.g. a training)
            self.message = ("Interrupted: the figure still shows the previous setting. "
                            "Move the slider to try again.")
            with self.output:
                print(self.message)

    def _ipython_display_(self):
        if static_mode():                 # a static page (make site): every frame, switched by a script
            display(HTML(self.static_html()))
        else:
            self.draw_first_moves()
            display(self.widget)
            self._start_predraw()

    def static_positions(self):
        """The values each control takes on a static page: all of a choice slider's, and evenly spaced
        ones of a float slider's range (the current value among them), so that the grid has at most
        ``STATIC_FRAMES`` positions.  -> {name: [values]}"""
        names = list(self.controls)
        frames = budget(full=self.STATIC_FRAMES, fast=16)
        per = max(2, int(frames ** (1 / len(names)) + 1e-9))
        out = {}
        for name in names:
            control = self.controls[name]
            if isinstance(control, widgets.SelectionSlider):
                options = list(control.options)
                if len(options) > per:                   # evenly spaced options, the current one kept
                    picks = {round(i * (len(options) - 1) / (per - 1)) for i in range(per)}
                    options = [o for i, o in enumerate(options) if i in picks or o == control.value]
                out[name] = options
            else:
                log = isinstance(control, widgets.FloatLogSlider)
                lo, hi = (control.min, control.max)
                values = [lo + (hi - lo) * i / (per - 1) for i in range(per)]
                values = [10 ** v for v in values] if log else values
                values = sorted({round(v, 6) for v in values} | {control.value})
                if len(values) > per:                    # the current value replaces its nearest neighbour
                    nearest = min((v for v in values if v != control.value), key=lambda v: abs(v - control.value))
                    values.remove(nearest)
                out[name] = values
        return out

    def static_html(self):
        """Every frame of the static grid as an HTML figure with one range input per control and a
        few lines of script that show the frame of the chosen values (no kernel, no server)."""
        positions = self.static_positions()
        names = list(positions)
        start = self.values
        frames = {}
        for combo in itertools.product(*[range(len(positions[n])) for n in names]):
            values = {n: positions[n][i] for n, i in zip(names, combo)}
            try:
                png, printed = self._draw_quietly(values)   # what it prints (a progress bar) is not on the page
            except CourseError as e:                        # a picture of another position must not stand for it
                raise CourseError(f"the live figure cannot be drawn at {values} for the static page: {e}") from None
            if not (printed or self.fresh):
                self._keep(tuple(values[n] for n in self.controls), png)
            frames["-".join(map(str, combo))] = base64.b64encode(static_png(png)).decode("ascii")
        self.update(self.fig, **start)
        first = "-".join(str(positions[n].index(start[n])) for n in names)
        ident = f"lf-{uuid.uuid4().hex[:8]}"
        inputs = []
        for n in names:
            control = self.controls[n]
            labels = [_label(v) for v in positions[n]]
            inputs.append(
                f'<label style="display:inline-block;margin:0 2em 0.3em 0">{html.escape(control.description or n)} = '
                f'<output>{html.escape(labels[positions[n].index(start[n])])}</output><br>'
                f'<input type="range" min="0" max="{len(labels) - 1}" step="1" '
                f'value="{positions[n].index(start[n])}" data-labels="{html.escape(json.dumps(labels))}" '
                f'aria-label="{html.escape(control.description or n)}"></label>')
        sliders = ", ".join(self.controls[n].description or n for n in names)
        alt = f"{describe(self.fig)} A live figure with sliders for {sliders}."
        return (f'<figure class="course-static-figure" id="{ident}">'
                f'<div class="course-static-controls">{"".join(inputs)}</div>'
                f'<img alt="{html.escape(alt)}" style="max-width:100%" src="data:image/png;base64,{frames[first]}">'
                f'<figcaption>A live figure: {len(frames)} frames drawn by the kernel when this page was '
                'built; move the sliders to switch between them. Open the notebook in JupyterLab for '
                'every value.</figcaption>'
                f'<script type="application/json" class="course-frames">{json.dumps(frames)}</script>'
                f'<script>{_SWITCHER.replace("IDENT", ident)}</script></figure>')


def static_png(png):
    """A frame for a static page: the same picture with a palette of 256 colours (a figure has few),
    about a quarter of the bytes.  -> PNG bytes"""
    picture = Image.open(io.BytesIO(png)).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    buffer = io.BytesIO()
    picture.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def _label(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# The static page's switcher: the range inputs' indices, joined by "-", name the frame to show.
_SWITCHER = """(function () {
  var root = document.getElementById("IDENT");
  var frames = JSON.parse(root.querySelector("script.course-frames").textContent);
  var inputs = root.querySelectorAll("input[type=range]");
  var img = root.querySelector("img");
  function show() {
    var key = Array.prototype.map.call(inputs, function (i) { return i.value; }).join("-");
    img.src = "data:image/png;base64," + frames[key];
    inputs.forEach(function (i) {
      i.parentNode.querySelector("output").textContent = JSON.parse(i.dataset.labels)[+i.value];
    });
  }
  inputs.forEach(function (i) { i.addEventListener("input", show); });
})();"""


def new_figure(ncols=1, nrows=1, width=4.0, height=3.0, **kwargs):
    """A figure with a grid of axes that is *not* registered with pyplot.  -> (fig, axes)."""
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes
