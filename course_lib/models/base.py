"""What the course's models share: where their weights live, and the check of a batch of input.

Every model of :mod:`course_lib.models` derives from :class:`CourseModel`, so a learner's batch is
checked the same way everywhere: its shape must be ``(batch, *image_shape)``, and it is brought to
the model's device (CPU images work with a model trained on a GPU).
"""
import torch
from torch import nn

from ..errors import check_tensor


class CourseModel(nn.Module):
    """An ``nn.Module`` with the course's two helpers.  A subclass sets ``image_shape`` (one
    example's shape, without the batch axis) or overrides :meth:`_check_x`."""

    image_shape: tuple[int, ...]

    def _device(self) -> torch.device:
        """The device of the model's weights."""
        return next(self.parameters()).device

    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, *image_shape), checked and moved to the model's device."""
        return check_tensor("x", x, shape=(None, *self.image_shape)).to(self._device())
