"""One intra-op thread for the export tests: their models are tiny, and on a busy shared
machine a thread pool waiting for cores costs far more than it gains (50x measured)."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
