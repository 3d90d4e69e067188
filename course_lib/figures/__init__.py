"""Figures: static plots and the live figures that sliders drive.

    plots    image grids, loss curves in a named unit, log axes in plain numbers
    widgets  ``LiveFigure``: ipywidgets sliders that redraw one matplotlib figure
    alt_text a figure's title and what its axes hold, in words, as a page's alternative text

Each lesson's own figures are in :mod:`course_lib.lessons`; this package knows no lesson.
"""
from .plots import image_grid, plain_log_ticks, plot_history, show_images
from .widgets import LiveFigure, choice_slider, float_slider, new_figure

__all__ = [
           "LiveFigure",
           "choice_slider",
           "float_slider",
           "image_grid",
           "new_figure",
           "plain_log_ticks",
           "plot_history",
           "show_images",
]
