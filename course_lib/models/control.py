"""A PI controller that sets β during training so that the KL reaches a set point (ControlVAE).

Shao et al. (2020) feed back the error between the desired KL and the one
measured on the current batch,

    e(t)  = KL_set − KL(t)
    β(t)  = K_p / (1 + exp(e(t)))  −  K_i Σ_(s ≤ t) e(s)  +  β_min

The P term is a sigmoid: large when the KL is above its set point (e < 0),
near 0 when it is below.  The I term keeps adding up the error, so β stops
moving only when the KL sits at the set point.  β is kept in [β_min, β_max];
while it is held at a bound the error is not added up (anti-windup), so β
does not stay stuck there.

Note: the course text uses the name "ControlVAE" for the capacity objective
|KL − C| of Burgess et al. (2018); that is a different method.
"""
import math

import torch

from ..errors import check_number
from ..schedules import evaluate


class PIController:
    """β(t) from the measured KL; call :meth:`update` once per training step."""

    def __init__(self, set_point, kp=0.01, ki=0.0001, beta_min=0.0, beta_max=1.0, beta_start=None, integral=0.0):
        """``beta_start`` is the β of the first step only; the next comes from the formula.  ``integral`` is
        Σ e(s) at the start: −(β₀ − β_min − K_p) / K_i makes β = β₀ while the KL is far above its set point
        (the P term at its largest, K_p) and lower as soon as the KL nears it, so β starts at β₀ and moves
        from there (used to start a capacity ramp at a large β)."""
        self.set_point = check_number("set_point", set_point, minimum=0.0)
        self.kp = check_number("kp", kp, minimum=0.0)
        self.ki = check_number("ki", ki, minimum=0.0)
        self.beta_min = check_number("beta_min", beta_min, minimum=0.0)
        self.beta_max = check_number("beta_max", beta_max, minimum=self.beta_min, strict_minimum=True)
        self.integral = check_number("integral", integral)
        self.beta = self.beta_max if beta_start is None else check_number(
            "beta_start", beta_start, minimum=self.beta_min, maximum=self.beta_max)

    def update(self, kl):
        """One controller step: the KL measured now -> the β for the next step."""
        kl = check_number("kl", kl)
        error = self.set_point - kl
        p = self.kp / (1.0 + math.exp(min(error, 700.0)))       # exp would overflow past ~709
        beta = p - self.ki * (self.integral + error) + self.beta_min
        if self.beta_min <= beta <= self.beta_max:
            self.integral += error                                # anti-windup: integrate only when unclipped
        self.beta = min(max(beta, self.beta_min), self.beta_max)
        return self.beta


def control_vae_objective(controller, set_point=None):
    """A loss for :func:`course_lib.fit`: D + β(t)·R, with β(t) from ``controller`` after every step.

    ``set_point``: None keeps the controller's; a schedule (a number or a function of the step,
    e.g. :func:`course_lib.schedules.linear_warmup`) moves it every step, so the KL is steered
    along a capacity ramp C(t).  Records ``beta`` (and ``set point`` when scheduled) as loss terms.
    (Not capturable as a CUDA graph: the controller reads the KL on the host every step.)
    """
    def loss_fn(model, x, step):
        if set_point is not None:
            controller.set_point = check_number("set point", evaluate(set_point, step), minimum=0.0)
        terms = model.loss_terms(x, beta=controller.beta)
        terms["beta"] = torch.tensor(controller.beta, device=terms["rate"].device)
        if set_point is not None:
            terms["set point"] = torch.tensor(controller.set_point, device=terms["rate"].device)
        kl = terms["rate"].item()
        if math.isfinite(kl):            # a NaN or inf is left to fit's guard, which restores the last good state
            controller.update(kl)
        return terms

    return loss_fn
