"""The Fréchet distance against closed forms, and the classifier whose features it is computed on."""
import math

import pytest
import torch

from course_lib.errors import CourseInputError
from course_lib.metrics import feature_statistics, frechet_distance, frechet_feature_distance
from course_lib.models.classifier import FashionClassifier, accuracy, features_of


def test_in_one_dimension_it_is_the_difference_of_means_and_of_standard_deviations_squared():
    # W2^2(N(m1, s1^2), N(m2, s2^2)) = (m1 - m2)^2 + (s1 - s2)^2
    d = frechet_distance(torch.tensor([1.0]), torch.tensor([[4.0]]), torch.tensor([-0.5]), torch.tensor([[0.25]]))
    assert d == pytest.approx(1.5 ** 2 + (2.0 - 0.5) ** 2, abs=1e-12)


def test_for_two_by_two_covariances_it_matches_the_closed_form_of_a_matrix_square_root():
    # For a 2 x 2 positive definite M, tr(M^1/2) = sqrt(tr M + 2 sqrt(det M)); with M = S1^1/2 S2 S1^1/2,
    # tr M = tr(S1 S2) and det M = det S1 det S2: an answer that needs no eigen-decomposition.
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        a, b = torch.randn(2, 2, generator=g, dtype=torch.float64), torch.randn(2, 2, generator=g, dtype=torch.float64)
        s1, s2 = a @ a.T + 0.1 * torch.eye(2, dtype=torch.float64), b @ b.T + 0.1 * torch.eye(2, dtype=torch.float64)
        mu1, mu2 = torch.randn(2, generator=g, dtype=torch.float64), torch.randn(2, generator=g, dtype=torch.float64)
        cross = math.sqrt(float(torch.trace(s1 @ s2)) + 2 * math.sqrt(float(torch.det(s1) * torch.det(s2))))
        expected = float((mu1 - mu2).pow(2).sum() + torch.trace(s1) + torch.trace(s2)) - 2 * cross
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-9, abs=1e-9)   # symmetric


def test_a_feature_set_is_at_distance_zero_from_itself_and_a_shift_costs_its_square():
    x = torch.randn(500, 6, generator=torch.Generator().manual_seed(1))
    assert abs(frechet_feature_distance(x, x)) < 1e-8
    shift = torch.tensor([0.5, 0, 0, 0, 0, -1.0])
    assert frechet_feature_distance(x, x + shift) == pytest.approx(1.25, abs=1e-8)


def test_statistics_are_the_mean_and_the_unbiased_covariance():
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    mu, s = feature_statistics(x)
    centred = x - x.mean(0)
    torch.testing.assert_close(s, centred.T @ centred / 49)
    torch.testing.assert_close(mu, x.mean(0))


@pytest.mark.parametrize("call, word", [
    (lambda: feature_statistics(torch.zeros(1, 3)), "N >= 2"),
    (lambda: frechet_distance(torch.zeros(2), torch.eye(3), torch.zeros(2), torch.eye(2)), "covariances"),
    (lambda: FashionClassifier().features(torch.zeros(2, 28, 28)), "(N, 1, 28, 28)"),
])
def test_bad_input_is_named(call, word):
    with pytest.raises(CourseInputError, match=word.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_the_classifier_gives_features_and_logits_of_the_stated_shapes():
    model = FashionClassifier().eval()
    x = torch.rand(7, 1, 28, 28)
    assert features_of(model, x, batch_size=3).shape == (7, 128)
    assert model(x).shape == (7, 10)
    labels = model(x).argmax(-1)
    assert accuracy(model, x, labels, batch_size=2) == 1.0
