"""Adversarial training: one Adam step on the discriminator's loss, then one on the generator's.

The models (GAN, BiGAN, InfoGAN in :mod:`course_lib.models.gans`, WAE-GAN, VAE-GAN and the unified
VAE) each provide ``discriminator_loss(x)``, ``generator_loss(x)`` (dicts with a ``loss`` entry)
and the two parameter groups; the loop here knows nothing else about them.

On a GPU the whole alternating step (batch gather, both losses, both backward passes, both Adam
updates) is recorded once as a CUDA graph and replayed, like :func:`course_lib.fit`'s step
(:mod:`course_lib.training.graph_step`): a model says its two losses may be recorded with
``capturable = True`` (the course's models do).  Elsewhere, or when recording fails, the very
same step runs eagerly.
"""
import math
import time

import torch
from tqdm.auto import tqdm

from ..capture import is_capturable
from ..device import get_device
from ..errors import CourseInputError, TrainingDiverged, check_choice, check_int, check_number
from ..models.wae import WAEGAN
from ..settings import refuse_training
from .graph_step import StaticStep
from .loop import say_once
from .train import History


class AlternatingOptimizers:
    """The discriminator's and the generator's optimizers, seen by :class:`StaticStep` as one."""

    def __init__(self, discriminator, generator):
        self.discriminator, self.generator = discriminator, generator
        self.defaults = {"capturable": all(o.defaults.get("capturable", False) for o in (discriminator, generator))}

    def zero_grad(self, set_to_none=False):
        self.discriminator.zero_grad(set_to_none=set_to_none)
        self.generator.zero_grad(set_to_none=set_to_none)


def adversarial_step(model, loss_fn, optimizers, batch, step, transform=None, bf16=False):
    """One alternating step on ``batch``, called like :func:`~course_lib.training.graph_step.train_step`
    (``loss_fn``, ``step``, ``transform`` and ``bf16`` are not used; the caller zeroes the gradients).

        1. discriminator: backpropagate discriminator_loss(batch)["loss"], step its optimizer;
        2. every gradient back to zero (the generator's loss also reaches the discriminator);
        3. generator: backpropagate generator_loss(batch)["loss"], step its optimizer.

    A model with a ``balance`` and ``players(d_terms) -> (update the discriminator, use the generator's
    adversarial term)`` (a balanced VAE-GAN) decides both from step 1's terms: a skipped update leaves the discriminator and
    its optimizer's state as they were.  Such a model is not ``capturable`` (the decision is read on the host).

    -> (names, row): the terms of both losses except ``loss``, as one (n_terms,) tensor on the device.
    """
    d_terms = model.discriminator_loss(batch)
    balanced = getattr(model, "balance", None) is not None
    update_d, use_gan = model.players(d_terms) if balanced else (True, True)
    if update_d:
        d_terms["loss"].backward()
        optimizers.discriminator.step()
    if balanced:
        model.gan_on = use_gan
        on = d_terms["loss"].device
        d_terms = {**d_terms, "discriminator updated": torch.tensor(float(update_d), device=on),
                   "adversarial term on": torch.tensor(float(use_gan), device=on)}
    for p in model.parameters():
        if p.grad is not None:
            p.grad.zero_()
    g_terms = model.generator_loss(batch)
    g_terms["loss"].backward()
    optimizers.generator.step()
    terms = {**{k: v for k, v in d_terms.items() if k != "loss"}, **{k: v for k, v in g_terms.items() if k != "loss"}}
    names = list(terms)
    return names, torch.stack([terms[k].detach().float().reshape(()) for k in names])


def train_adversarial(model, x_train, steps, batch_size=256, lr=1e-3, betas=(0.5, 0.999), seed=0, device=None,
                      log_every=50, snapshot=None, desc="adversarial training", progress=True, discriminator_lr=None,
                      cuda_graph="auto"):
    """Alternate one Adam step on the discriminator's loss and one on the generator's, both on the
    same minibatch (the discriminator's learning rate is ``discriminator_lr``, by default ``lr``).

    ``snapshot(model, step)``, if given, is called at every logged step and its dict of numbers is
    stored in the history beside the averaged losses (e.g. BiGAN's cycle errors).
    ``cuda_graph="auto"``: on CUDA, record the step as a CUDA graph when the model is marked
    ``capturable``; ``False`` trains eagerly.
    Raises :class:`TrainingDiverged` on a non-finite loss.  -> History
    """
    steps = check_int("steps", steps, minimum=1)
    refuse_training("train_adversarial")
    batch_size = check_int("batch_size", batch_size, minimum=2)
    lr = check_number("lr", lr, minimum=0.0, strict_minimum=True)
    discriminator_lr = lr if discriminator_lr is None else check_number("discriminator_lr", discriminator_lr,
                                                                        minimum=0.0, strict_minimum=True)
    log_every = check_int("log_every", log_every, minimum=1)
    check_choice("cuda_graph", cuda_graph, ("auto", False))
    if not all(hasattr(model, name) for name in ("discriminator_loss", "generator_loss", "generator_parameters")):
        raise CourseInputError(f"train_adversarial needs a model with discriminator_loss, generator_loss and "
                               f"generator_parameters (a GAN, BiGAN, InfoGAN, VAEGAN ...), got {type(model).__name__}.")
    device = get_device(device)
    torch.manual_seed(seed)
    model.to(device).train()
    x = x_train.to(device)
    want_graph = cuda_graph == "auto" and device.type == "cuda"
    if want_graph and not is_capturable(model):
        say_once(f"train_adversarial trains eagerly, not as a CUDA graph: {type(model).__name__} is not marked "
                  "capturable (set capturable = True if both its losses use only tensor operations).")
        want_graph = False
    optimizers = AlternatingOptimizers(
        torch.optim.Adam(model.discriminator_parameters(), lr=discriminator_lr, betas=betas, capturable=want_graph),
        torch.optim.Adam(model.generator_parameters(), lr=lr, betas=betas, capturable=want_graph))
    static = StaticStep(model, None, optimizers, x, batch_size, capture=want_graph, step_fn=adversarial_step)
    history, window, start = History(), [], time.perf_counter()
    for i in tqdm(range(steps), desc=desc, disable=not progress):
        window.append(static.run(torch.randint(len(x), (batch_size,), device=device), i))
        if static.problem:
            say_once(f"train_adversarial could not record the step as a CUDA graph ({static.problem}); "
                      "it goes on eagerly.")
            static.problem = None
        if (i + 1) % log_every == 0 or i + 1 == steps:
            values = torch.stack(window).mean(0).tolist()        # one device -> host copy per window
            means = dict(zip(static.names, values))
            if not all(math.isfinite(v) for v in values):
                raise TrainingDiverged(f"{desc} diverged at step {i + 1} (a loss became NaN or infinite); "
                                       "try a smaller lr.", history)
            if snapshot is not None:                  # its own random numbers: training's stream is unchanged
                model.eval()
                with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                    means.update(snapshot(model, i + 1))
                model.train()
            history.steps.append(i + 1)
            for name, v in means.items():
                history.terms.setdefault(name, []).append(v)
            window = []
    history.seconds, history.examples_seen = time.perf_counter() - start, steps * batch_size
    model.eval()
    return history


def train_wae_gan(model, discriminator, x_train, steps, lam=1.0, batch_size=128, lr=1e-3, seed=0, device=None,
                  log_every=50, progress=True):
    """WAE-GAN: train ``model`` (a WAE) and ``discriminator`` (a latent d(z)) as a :class:`WAEGAN`,
    alternating one Adam step on each (the discriminator at half the learning rate).
    -> History with ``discriminator``, ``reconstruction`` and ``fool`` (-E log D(z_q))."""
    return train_adversarial(WAEGAN(model, discriminator, lam), x_train, steps, batch_size=batch_size, lr=lr,
                             discriminator_lr=0.5 * lr, betas=(0.9, 0.999), seed=seed, device=device,
                             log_every=log_every, desc="WAE-GAN", progress=progress)
