"""Probes: how much of the labels can a linear classifier, or a vote of near neighbours, read off the codes?"""
import torch

from ..errors import CourseInputError, check_int, check_tensor


def check_labels(name, labels, n, per="code"):
    """``labels`` must be n >= 1 class indices 0, 1, 2, ...: an integer tensor of shape (n,), one label per ``per``."""
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32) or labels.shape != (n,):
        raise CourseInputError(f"{name} must be an integer tensor with one label per {per}, shape ({n},).")
    if n == 0 or bool((labels < 0).any()):
        raise CourseInputError(f"{name} must hold at least one label, each a class index 0, 1, 2, ...")


def _check_codes_and_labels(train_codes, train_labels, test_codes, test_labels):
    for name, codes in (("train_codes", train_codes), ("test_codes", test_codes)):
        check_tensor(name, codes, shape=(None, None))
    check_labels("train_labels", train_labels, len(train_codes))
    check_labels("test_labels", test_labels, len(test_codes))


def linear_probe_accuracy(train_codes, train_labels, test_codes, test_labels, steps=200, weight_decay=1e-3):
    """Fit multinomial logistic regression on (train_codes, train_labels), return test accuracy in [0, 1]: the mean
    of :func:`linear_probe_correct`."""
    return linear_probe_correct(train_codes, train_labels, test_codes, test_labels, steps,
                                weight_decay).double().mean().item()


def linear_probe_correct(train_codes, train_labels, test_codes, test_labels, steps=200, weight_decay=1e-3):
    """Fit multinomial logistic regression on (train_codes, train_labels); -> (N_test,) bool, whether each test code
    is labelled right (two probes scored on the same test images compare image by image: a paired comparison).

    codes: (N, k) floats; labels: (N,) integers 0 … C−1.  The codes are standardized with the
    training mean and spread; L-BFGS minimises cross-entropy + weight_decay · ‖W‖².
    """
    _check_codes_and_labels(train_codes, train_labels, test_codes, test_labels)
    steps = check_int("steps", steps, minimum=1)
    train_codes, test_codes = train_codes.detach().cpu(), test_codes.detach().cpu()   # codes may come from a GPU
    train_labels, test_labels = train_labels.cpu(), test_labels.cpu()
    mean, std = train_codes.mean(0), train_codes.std(0).clamp(min=1e-6)
    a, b = ((train_codes - mean) / std).double(), ((test_codes - mean) / std).double()
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    weight = torch.zeros(a.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=steps, line_search_fn="strong_wolfe")
    y = train_labels.long()

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(a @ weight + bias, y) + weight_decay * (weight ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return (b @ weight + bias).argmax(1) == test_labels.long()


def neighbour_vote_accuracy(train_codes, train_labels, test_codes, test_labels, k=10):
    """Each test code takes the most common label among its k nearest training codes (Euclidean; a tie goes to
    the smallest label); -> the fraction of test codes labelled right, in [0, 1].  Unlike a linear probe it
    asks only that a class occupy a region of its own, whatever the region's shape.
    codes: (N, d) floats; labels: (N,) integers."""
    _check_codes_and_labels(train_codes, train_labels, test_codes, test_labels)
    k = check_int("k", k, minimum=1)
    if k > len(train_codes):
        raise CourseInputError(f"k = {k} neighbours asked for, but there are only {len(train_codes)} training codes.")
    if train_codes.shape[1] != test_codes.shape[1]:
        raise CourseInputError(f"train_codes and test_codes must have the same width, got {train_codes.shape[1]} "
                               f"and {test_codes.shape[1]}.")
    a, b = train_codes.detach().cpu().double(), test_codes.detach().cpu().double()
    nearest = torch.cdist(b, a).topk(k, largest=False).indices          # (N_test, k)
    labels, test_labels = train_labels.cpu().long(), test_labels.cpu().long()
    n_classes = int(max(labels.max(), test_labels.max())) + 1
    counts = torch.nn.functional.one_hot(labels[nearest], n_classes).sum(1)   # (N_test, classes): the votes
    return (counts.argmax(1) == test_labels).double().mean().item()   # argmax: the first, smallest label
