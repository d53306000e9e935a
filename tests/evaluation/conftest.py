"""One torch thread for the evaluation tests: their models are tiny, and on a busy
machine two OpenMP threads made a tiny forward pass ten times slower, not faster."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
