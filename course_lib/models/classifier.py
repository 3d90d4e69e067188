"""A small convolutional classifier for Fashion-MNIST, whose features serve as the course's yardstick
for generated images (a Fréchet distance on them; see :mod:`course_lib.metrics.frechet`).

    x (N, 1, 28, 28) -> two 3 x 3 conv blocks (32, 64 channels, each followed by 2 x 2 max-pooling)
                     -> features (N, 128) -> logits (N, 10)

It is the course's own proxy: trained on the images the course has, it sees what tells the ten
classes apart, which is not what an Inception network sees, so its distances are not FIDs.
"""
import torch
from torch import nn

from ..errors import CourseInputError

FEATURES = 128


class FashionClassifier(nn.Module):
    def __init__(self, features=FEATURES, classes=10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # 14 x 14
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # 7 x 7
            nn.Flatten(), nn.Linear(64 * 7 * 7, features), nn.ReLU())
        self.head = nn.Linear(features, classes)

    def features(self, x):
        """The penultimate layer: (N, 1, 28, 28) in [0, 1] -> (N, features)."""
        if not isinstance(x, torch.Tensor) or tuple(x.shape[1:]) != (1, 28, 28):
            raise CourseInputError(f"x must be images of shape (N, 1, 28, 28), got {tuple(getattr(x, 'shape', ()))}.")
        return self.body(x)

    def forward(self, x):
        """Logits (N, classes)."""
        return self.head(self.features(x))


@torch.no_grad()
def accuracy(model, x, labels, batch_size=1000):
    """The share of ``x`` whose arg-max class is the label."""
    hits = sum(int((model(x[i:i + batch_size]).argmax(-1) == labels[i:i + batch_size]).sum())
               for i in range(0, len(x), batch_size))
    return hits / len(x)


@torch.no_grad()
def features_of(model, x, batch_size=1000):
    return torch.cat([model.features(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
