"""Every export test runs on one torch thread (see the root conftest's ``one_torch_thread``)."""

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield
