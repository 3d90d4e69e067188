"""What the course's models share: where their weights live, and the check of a batch of input.

Every model of :mod:`course_lib.models` derives from :class:`CourseModel`, so a learner's batch is
checked the same way everywhere: its shape must be ``(batch, *image_shape)``, and it is brought to
the model's device (CPU images work with a model trained on a GPU).
"""
from collections.abc import Iterator

import torch
from torch import nn

from ..errors import check_tensor


class CourseModel(nn.Module):
    """An ``nn.Module`` with the course's two helpers.  A subclass sets ``image_shape`` (one
    example's shape, without the batch axis) or overrides :meth:`check_input`."""

    image_shape: tuple[int, ...]

    def _device(self) -> torch.device:
        """The device of the model's weights."""
        return next(self.parameters()).device

    def check_input(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, *image_shape), checked and moved to the model's device."""
        return check_tensor("x", x, shape=(None, *self.image_shape)).to(self._device())


# A decoder run on k samples of a whole test batch makes (k, batch, width) tensors of hundreds of MB.
# Tensors that large are allocated by the system afresh every time (glibc maps memory above 32 MB
# anew and returns it on free), and each new page costs a fault: in a check of the reference models
# more time went to those faults than to the arithmetic.  Decoding a few examples at a time keeps
# every tensor near 8 MB, which the allocator reuses.
DECODE_ELEMENTS = 2 ** 21


def example_chunks(batch: int, elements_per_example: int) -> Iterator[slice]:
    """Slices of range(batch) holding about DECODE_ELEMENTS // elements_per_example examples each."""
    size = max(1, DECODE_ELEMENTS // max(1, elements_per_example))
    for start in range(0, batch, size):
        yield slice(start, min(start + size, batch))
