"""Small plotting helpers shared by the lessons (matplotlib)."""
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, LogLocator, NullLocator, ScalarFormatter

from ..errors import CourseInputError, check_choice, check_int, check_number, check_tensor
from ..training.train import History


def image_grid(images, ncol=8, pad=1):
    """Tile images (N, 1, H, W) in [0, 1] into one (rows*H, ncol*W) array."""
    check_tensor("images", images, shape=(None, None, None, None))
    ncol = check_int("ncol", ncol, minimum=1)
    images = images.detach().float().cpu().clamp(0, 1)
    n, _, h, w = images.shape
    nrow = int(np.ceil(n / ncol))
    grid = np.zeros((nrow * (h + pad) - pad, ncol * (w + pad) - pad))      # 0 is white in gray_r
    for i, img in enumerate(images[:, 0].numpy()):
        r, c = divmod(i, ncol)
        grid[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = img
    return grid


def show_images(images: torch.Tensor, ncol: int = 8, title: str | None = None, ax: Axes | None = None) -> Axes:
    """Show a batch of images (N, 1, H, W) as one grid; returns the axes."""
    check_tensor("images", images, shape=(None, None, None, None))
    if ax is None:
        import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)
        _, ax = plt.subplots(figsize=(ncol * 0.6, int(np.ceil(len(images) / ncol)) * 0.6 + 0.4))
    ax.imshow(image_grid(images, ncol), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plain_log_ticks(ax: Axes, axis: str = "y", at: Sequence[float] | None = None) -> Axes:
    """Label a log-scaled axis in plain numbers: at the values ``at`` (the sizes that were measured,
    say), or else at 1, 2, 5, 10, 20, 50, ...; no other tick is labelled (no "3×10⁰").  -> ax"""
    check_choice("axis", axis, ("x", "y"))
    if at is not None:                                      # a log axis has ticks only at positive values
        at = [check_number("at", v, minimum=0.0, strict_minimum=True) for v in np.atleast_1d(at)]
    if not hasattr(ax, "xaxis"):
        raise CourseInputError(f"ax must be a matplotlib Axes (from plt.subplots, say); got {type(ax).__name__}.")
    which = ax.xaxis if axis == "x" else ax.yaxis
    which.set_major_locator(FixedLocator(at) if at is not None else LogLocator(subs=(1, 2, 5)))
    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    which.set_major_formatter(formatter)
    which.set_minor_locator(NullLocator())
    return ax


def plot_history(history: History, terms: Sequence[str] = ("distortion", "rate"), ax: Axes | None = None,
                 title: str | None = None, ylabel: str = "nats per example") -> Axes:
    """Plot recorded loss terms against the training step; returns the axes.  ``ylabel`` names
    the terms' unit (bits/dim, say, for a flow's ``"bits/dim"``)."""
    known = sorted(history.terms)
    missing = [t for t in terms if t not in history.terms]
    if missing:
        raise CourseInputError(f"terms: this history has no {', '.join(map(repr, missing))}; "
                               f"it must name recorded terms, one of {', '.join(map(repr, known)) or 'none'}.")
    if ax is None:
        import matplotlib.pyplot as plt  # noqa: PLC0415 (pyplot is loaded only when a figure is drawn: it costs every kernel that imports the course)
        _, ax = plt.subplots(figsize=(5, 3))
    style = "o-" if len(history.steps) < 10 else "-"       # a short run's few points stay visible
    for name in terms:
        ax.plot(history.steps, history[name], style, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax

