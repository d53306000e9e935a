"""Reading transformers' speech SSL encoders: from a ``save_pretrained`` folder, the local
Hugging Face cache, or the hub (failing in seconds when it is unreachable).

Weights are read with ``weights_only=True`` (many hub teachers ship only
``pytorch_model.bin``): tensors are restored, arbitrary pickled objects refused.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

from transformers import (
    AutoConfig,
    Data2VecAudioConfig,
    Data2VecAudioModel,
    HubertConfig,
    HubertModel,
    PreTrainedConfig,
    PreTrainedModel,
    Wav2Vec2Config,
    Wav2Vec2Model,
    WavLMConfig,
    WavLMModel,
)

from gendistiller.encoders.spec import looks_like_path, missing
from gendistiller.errors import TeacherError, one_line

SPEECH_ENCODERS: dict[str, tuple[type[PreTrainedConfig], type[PreTrainedModel]]] = {
    "wavlm": (WavLMConfig, WavLMModel),
    "hubert": (HubertConfig, HubertModel),
    "wav2vec2": (Wav2Vec2Config, Wav2Vec2Model),
    "data2vec-audio": (Data2VecAudioConfig, Data2VecAudioModel),
}


def not_speech(name: str, model_type: str) -> str:
    return (
        f"{name}: model type {model_type or 'unknown'!r} is not a supported speech encoder "
        f"(supported: {', '.join(SPEECH_ENCODERS)})"
    )


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def load_speech_encoder(name_or_path: str | os.PathLike) -> PreTrainedModel:
    """A speech encoder from a local ``save_pretrained`` folder or a hub id (cache first)."""
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise TeacherError(f"{path}: not a saved model folder (no config.json)")
        return load_model(str(path), name, local_files_only=True)
    if looks_like_path(name):
        raise TeacherError(missing(name))
    try:  # already in the local hub cache: no network needed
        return load_model(name, name, local_files_only=True)
    except NotCached:
        pass
    if hub_offline():
        # Said both ways: "owner/name" may be a mistyped path as well as a hub id.
        raise TeacherError(
            f"{name}: no such folder here, and teacher {name!r} is not in the local Hugging Face "
            "cache; HF_HUB_OFFLINE=1 forbids downloading it: unset HF_HUB_OFFLINE where the hub is "
            "reachable, or pass a local folder written by save_pretrained"
        )
    check_hub_reachable(name)
    return load_model(name, name, local_files_only=False)


class NotCached(Exception):
    pass


def load_model(source: str, name: str, local_files_only: bool) -> PreTrainedModel:
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=local_files_only)
    except OSError as err:
        if local_files_only and not Path(source).exists():
            raise NotCached from None
        raise TeacherError(f"{name}: cannot read the model config ({one_line(err)})") from None
    except ValueError as err:  # unknown model_type and the like
        raise TeacherError(f"{name}: {one_line(err)}") from None
    if config.model_type not in SPEECH_ENCODERS:
        raise TeacherError(not_speech(name, config.model_type))
    model_cls = SPEECH_ENCODERS[config.model_type][1]
    try:
        model = model_cls.from_pretrained(
            source, local_files_only=local_files_only, weights_only=True
        )
    except OSError as err:
        if local_files_only and not Path(source).exists():
            raise NotCached from None
        raise TeacherError(f"{name}: cannot load the weights ({one_line(err)})") from None
    # Teachers always run in fp32 (the embedded one is stored in fp16 to halve its size).
    return model.float()


def check_hub_reachable(name: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not after half a minute of retries, when the hub is unreachable."""
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    result: list[BaseException | None] = []

    def probe() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            result.append(None)
        except OSError as err:
            result.append(err)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    error = result[0] if result else TimeoutError(f"no answer within {timeout:.0f} s")
    if error is not None:
        raise TeacherError(
            f"{name}: no such folder here, and cannot reach the Hugging Face hub ({host}) to download "
            f"teacher {name!r}: {one_line(error)}; "
            "set HF_HUB_OFFLINE=1 to use only the local cache, or pass a local folder written by save_pretrained"
        )
