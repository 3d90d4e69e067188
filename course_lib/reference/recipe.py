"""A recipe: what a group of reference models is and how it is trained, written down as plain data.

A reference model is known by its recipe, never by a hash of the library's source: the
architecture and the training of each model are a small dictionary (``identity``), and the
manifest keeps that dictionary beside the model's weights and measured metrics.  When the
code's recipe and the manifest's differ, the shipped weights were trained by another recipe
and are refused (:func:`differences` names what changed).

A recipe trains its models together (one ``fit_sweep`` per shared setting) and measures each
one on held-out data, on the CPU, so that the measurement can be repeated anywhere.
"""
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from ..data.fashion_mnist import load_shipped_subset
from ..errors import CourseInputError


@dataclass(frozen=True)
class Recipe:
    """One group of reference models.

    name:       the group's name, e.g. "flows-u1-u4" (letters, digits and '-')
    lesson:     the lesson that opens on these models, e.g. "7"
    what:       one line that says what the models are
    source:     the paper(s) the recipe follows
    members:    {model name: its own settings}, e.g. {"planar-K8-u1": {"kind": "planar", "depth": 8,
                "target": "u1"}}: the architecture and the hyper-parameter that sets it apart
    training:   the settings every member shares: data, steps, batch, learning rate, seed, ...
    tolerance:  {metric: absolute tolerance} of a re-measurement against the recorded value
    build:      build(member settings) -> a fresh nn.Module (used to load the weights)
    train:      train(recipe, device, progress) -> {model name: (nn.Module, seconds)}
    measure:    measure(model on the CPU, member settings, training settings) -> {metric: float}
    needs_gpu:  True when training on a CPU would take hours
    as_lesson:  as_lesson({model name: nn.Module}) -> what the lesson's own training function returns
    summarise:  summarise({model name: recorded metrics}, members) -> lines of a Markdown table (the
                docs' tables); by default one row per model
    ships:      ships({model name: recorded metrics}, members) -> the models whose weights the course
                ships; by default all.  The others keep their metrics in the manifest, not their weights.
    one_at_a_time:  True: ``train`` is called for one member at a time, and each model is written as soon
                as it is trained (an interrupted run loses only the model in progress); False: for all
                members together (a recipe whose models grow from each other)
    history:    True: ``train`` gives (model, seconds, History) for each model, the manifest keeps each
                training history (a lesson plots it), and ``as_lesson(models, histories)`` gets them
    measures_others:  True for a model that other recipes measure with (the feature classifier): ``requantize``
                leaves its stored weights as they are, since new ones would move the others' recorded metrics
    quick:      training settings for the quick re-measurement (``--check --quick``, what ``make test`` runs): the
                same ``measure`` on fewer test images, compared with the "quick metrics" recorded beside the
                metrics.  Deterministic like the full one, so it catches changed weights or measuring code as
                surely, in seconds.  {} where the full measurement already takes about a second
    measured_with:  measured_with() -> the measurement settings that ``training`` does not hold (a lesson's own
                constants, say); the manifest keeps them with the metrics, and ``check`` refuses numbers measured
                with other settings than the code's
    """
    name: str
    lesson: str
    what: str
    source: str
    members: dict
    training: dict
    tolerance: dict
    build: Callable
    train: Callable
    measure: Callable
    needs_gpu: bool = False
    as_lesson: Callable = dict
    summarise: Callable | None = None
    ships: Callable | None = None
    one_at_a_time: bool = True
    history: bool = False
    measures_others: bool = False
    quick: dict = field(default_factory=dict)
    measured_with: Callable | None = None

    def identity(self, member):
        """The dictionary that names one model: recipe, architecture, training.  JSON-safe."""
        if member not in self.members:
            raise CourseInputError(f"{self.name!r} has no model {member!r}; it has {sorted(self.members)}.")
        return canonical({"recipe": self.name, "model": self.members[member], "training": self.training})

    def with_training(self, **changes):
        """The same recipe with some training settings changed (a smaller stand-in for the tests)."""
        return replace(self, training={**self.training, **changes})

    def quick_measure(self):
        """The recipe whose ``measure`` is the quick re-measurement (its training settings with ``quick``'s)."""
        return self.with_training(**self.quick)

    def with_members(self, names):
        """The same recipe restricted to the members ``names``."""
        missing = [n for n in names if n not in self.members]
        if missing:
            raise CourseInputError(f"{self.name!r} has no model(s) {missing}.")
        return replace(self, members={n: self.members[n] for n in names})


def shipped_training_images(training):
    """The training images of the Fashion-MNIST subset the course ships (a recipe's ``data``)."""
    return load_shipped_subset().x_train


def binarized_shipped_test_images(n):
    """The first ``n`` shipped Fashion-MNIST test images, binarized once with the draws of seed 1 (what a
    recipe measures its likelihood bounds on)."""
    torch.manual_seed(1)
    return torch.bernoulli(load_shipped_subset().x_test[:n])


def iwae_on_shipped_test_images(model, training):
    """IWAE_k in nats per image for each k of ``training["iwae k"]``, on
    :func:`binarized_shipped_test_images` (``training["test images"]`` of them).  -> {"iwae k<k>": float}"""
    x = binarized_shipped_test_images(training["test images"])
    with torch.no_grad():
        return {f"iwae k{k}": float(-model.nll(x, k=k)[0].mean()) for k in training["iwae k"]}


def each_on_its_own(data, fit):
    """A recipe's ``train`` for members trained one after another, each from ``recipe.build(member)``:
    ``data(training)`` gives the training tensor, ``fit(member, model, x, steps, device, progress)`` trains
    the model in place and returns its History.  -> train(recipe, device, progress) giving
    {model name: (model, seconds)}, or (model, seconds, History) for a recipe with ``history=True``."""
    def train(recipe, device, progress):
        x = data(recipe.training)
        out = {}
        for m, member in recipe.members.items():
            model = recipe.build(member).to(device)
            start = time.perf_counter()
            history = fit(member, model, x, recipe.training["steps"], device, progress)
            seconds = time.perf_counter() - start
            out[m] = (model, seconds, history) if recipe.history else (model, seconds)
        return out
    return train


def all_at_once(data, fit_sweep, over):
    """A recipe's ``train`` for members trained together as one sweep that differs in the setting ``over``
    (β, λ, free bits): ``fit_sweep(x, steps, values, device, progress)`` returns one (model, History) per
    value, in order.  Each model's time is the sweep's divided among them.  -> train(recipe, device, progress)
    giving {model name: (model, seconds)}"""
    def train(recipe, device, progress):
        names = list(recipe.members)
        start = time.perf_counter()
        sweep = fit_sweep(data(recipe.training), recipe.training["steps"], [recipe.members[m][over] for m in names],
                          device, progress)
        seconds = (time.perf_counter() - start) / len(names)
        return {m: (model, seconds) for m, (model, _) in zip(names, sweep)}
    return train


def canonical(obj):
    """``obj`` as JSON would give it back (tuples become lists, keys sorted), so two recipes
    compare equal exactly when their JSON texts do."""
    return json.loads(json.dumps(obj, sort_keys=True))


def differences(recorded, current, path=""):
    """The settings in which two identities differ, as lines "training.steps: 8000 -> 10000"."""
    if isinstance(recorded, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(recorded) | set(current)):
            where = f"{path}.{key}" if path else key
            if key not in current:
                out.append(f"{where}: {recorded[key]!r} -> (removed)")
            elif key not in recorded:
                out.append(f"{where}: (new) -> {current[key]!r}")
            else:
                out += differences(recorded[key], current[key], where)
        return out
    return [] if recorded == current else [f"{path}: {recorded!r} -> {current!r}"]
