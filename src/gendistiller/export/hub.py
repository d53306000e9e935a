"""Upload an exported folder to the Hugging Face Hub (``--push-to-hub``; never run by tests)."""

from __future__ import annotations

import os
from pathlib import Path

from gendistiller.errors import GenDistillerError, one_line


def push_to_hub(folder: str | os.PathLike, repo_id: str, *, private: bool = False) -> str:
    """Create ``repo_id`` if needed and upload ``folder`` to it; returns the commit URL.

    Authentication is huggingface_hub's: ``HF_TOKEN`` or ``huggingface-cli login``."""
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(Path(folder)),
            commit_message="Upload model exported by gendistiller",
        )
    except Exception as err:  # network, auth and hub errors all end the command the same way
        raise GenDistillerError(
            f"cannot push {folder} to the hub as {repo_id}: {one_line(err)}"
        ) from None
    return str(getattr(commit, "commit_url", commit))
