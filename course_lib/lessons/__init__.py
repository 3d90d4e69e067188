"""Interactive figures of the lessons, one module per lesson.

They live here rather than in the notebooks so that the notebooks stay short,
and so that tests and the slider benchmark can build them without a browser.
"""
