"""Numbers that papers report, for a lesson to print beside its own.

Each number is typed as its source shows it, with the table it comes from, the address where it was read and the
setting it was measured in, so that a lesson can say what differs between the paper's run and its own (data,
model size, training budget, estimator).  Only numbers read in a source are here: where a paper's table could not
be read, the lesson has no such table.
"""
from dataclasses import dataclass

from ..errors import CourseInputError


@dataclass(frozen=True)
class Reported:
    """One published number: ``value`` ± ``error`` (the source's own ± where it gives one, else None), reported by
    ``cite`` (authors and year), read where ``source`` says, measured in ``setting``."""
    model: str
    value: float
    error: float | None
    cite: str
    source: str
    setting: str


EXEMPLAR_VAE = ("Exemplar VAE, its density-estimation table of test log-likelihoods as the authors' repository shows "
                "it: github.com/sajadn/Exemplar-VAE, images/density_estimation.png")
EXEMPLAR_VAE_SETTING = ("Fashion-MNIST, 50,000 training images binarized anew each pass, 10,000 held out for early "
                        "stopping, the 10,000 test images binarized once; MLPs of 300 hidden units and 40 latents a "
                        "level (gated units); the two-level model infers the top level first, q(z₂|x) q(z₁|x, z₂), and "
                        "decodes from both levels; up to 2,000 epochs, the KL warmed up over the first 100; log p(x) by importance sampling with 5,000 "
                        "samples (the defaults of the authors' code)")

# Lesson 5: a flat VAE and a two-level VAE, both with a standard normal prior, on Fashion-MNIST.  The table
# prints the two-level entry as "227.37 ±0.1", without the minus sign that every other entry of it has.
HIERARCHICAL_FASHION = (
    Reported("VAE, Gaussian prior", -228.70, 0.15, "Norouzi et al. (2020)", EXEMPLAR_VAE, EXEMPLAR_VAE_SETTING),
    Reported("two-level HVAE, Gaussian prior", -227.37, 0.1, "Norouzi et al. (2020)", EXEMPLAR_VAE,
             EXEMPLAR_VAE_SETTING),
)


def _cell(text):
    return str(text).replace("|", "\\|")


def side_by_side(ours, our_setting, reported, quantity="log p(x) (nats per image)"):
    """A Markdown table of the lesson's own numbers above the papers' ones, then each run's setting and source once,
    so that a reader sees at once what differs.  ``ours``: {model: value} measured by the lesson in the setting
    ``our_setting``; ``reported``: Reported entries.  -> str"""
    if not ours or not reported:
        raise CourseInputError("side_by_side needs at least one number of the lesson's (ours) and one of a paper's "
                               "(reported).")
    lines = [f"| model | {quantity} | run |", "|---|---:|---|"]
    lines += [f"| {_cell(model)} | {value:.2f} | this lesson |" for model, value in ours.items()]
    for r in reported:
        error = "" if r.error is None else f" ± {r.error:g}"
        lines.append(f"| {_cell(r.model)} | {r.value:.2f}{error} | {_cell(r.cite)} |")
    lines += ["", f"* **This lesson:** {our_setting}."]
    for r in {(r.cite, r.source, r.setting): r for r in reported}.values():
        lines.append(f"* **{r.cite}** ({r.source}): {r.setting}.")
    return "\n".join(lines)
