"""Alternative text: what a reader who cannot see a figure is told it shows.

    describe(fig)   "<the figure's title>. <panel title> (x: <x label>; y: <y label>). ..."
    install()       every matplotlib figure a notebook shows carries describe(fig) in its output's
                    metadata, ``metadata["image/png"]["alt"]``, which the static site's pages use
                    as the picture's ``alt`` (tools/build_site.py)

Only what the figure itself says is used (its titles, its axes' labels, a colour bar's label), so a
figure with no title and unlabelled axes is described as such: give it a title.
"""
import matplotlib.figure
from IPython import get_ipython
from IPython.core.pylabtools import print_figure
from matplotlib.axes import Axes

UNTITLED = "a figure without a title"


def _clean(text: str) -> str:
    return " ".join(text.replace("$", "").split())


def _panel(ax: Axes) -> str:
    """One panel: its title and what its axes hold, e.g. "rate against β (x: β; y: nats)"."""
    title = _clean(ax.get_title() or ax.get_title("left") or ax.get_title("right"))
    axes = [f"{name}: {label}" for name, label in (("x", _clean(ax.get_xlabel())), ("y", _clean(ax.get_ylabel())))
            if label]
    if not (title or axes):
        return ""
    return f"{title} ({'; '.join(axes)})" if title and axes else title or "axes " + "; ".join(axes)


def describe(fig: matplotlib.figure.Figure) -> str:
    """The figure's alternative text: its title, then each panel that says anything (title, axis labels),
    in order, repeated titles (a grid of images each titled alike) said once with their count."""
    suptitle = _clean(fig.get_suptitle())
    panels: list[str] = []
    for ax in fig.axes:
        text = _panel(ax)
        if text:
            panels.append(text)
    said: list[str] = []
    for text in dict.fromkeys(panels):                     # in order, each once
        count = panels.count(text)
        said.append(f"{text} (×{count})" if count > 1 else text)
    parts = [suptitle] if suptitle else []
    parts += said
    return ". ".join(parts) + "." if parts else UNTITLED


def install() -> None:
    """Make the PNG of every matplotlib figure this IPython kernel shows carry describe(fig) as its "alt"
    metadata.  Call it after the inline backend is active (after importing matplotlib.pyplot in the
    kernel): the PNG itself is drawn as the inline backend draws it."""
    from matplotlib_inline.backend_inline import InlineBackend  # noqa: PLC0415 (the kernel's inline backend: only a kernel that builds the site loads it here)

    shell = get_ipython()
    if shell is None:
        return
    options = dict(InlineBackend.instance().print_figure_kwargs)

    def png_with_alt(fig):
        return print_figure(fig, "png", base64=True, **options), {"alt": describe(fig)}

    shell.display_formatter.formatters["image/png"].for_type(matplotlib.figure.Figure, png_with_alt)
