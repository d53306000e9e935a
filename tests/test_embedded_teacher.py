"""The pretrained teacher shipped in the package: it loads offline by name, it is what its
model card says, and the card records that it beat its random-weight twin."""

import json

import pytest
import torch
from safetensors import safe_open

from gendistiller.pretraining.card import CARD_NAME, CARD_TASKS, FACTS_NAME
from gendistiller.teachers import EMBEDDED, EMBEDDED_DIR, load_teacher, teacher_config


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads((EMBEDDED_DIR / FACTS_NAME).read_text())


def test_embedded_teacher_is_shipped_with_its_card():
    for name in ("config.json", "model.safetensors", FACTS_NAME, CARD_NAME):
        assert (EMBEDDED_DIR / name).is_file(), name


def test_shipped_file_matches_the_card(card):
    weights = EMBEDDED_DIR / "model.safetensors"
    assert weights.stat().st_size == card["file_bytes"] <= 15 * 1024 * 1024
    with safe_open(str(weights), "pt") as fh:
        dtypes = {fh.get_slice(k).get_dtype() for k in fh.keys()}
    assert dtypes == {"F16"} and card["stored_dtype"] == "float16"
    config = teacher_config(EMBEDDED)
    recipe = card["recipe"]
    assert config.model_type == "hubert"
    assert config.num_hidden_layers == card["num_hidden_layers"] == recipe["num_hidden_layers"]
    assert config.hidden_size == card["hidden_size"] == recipe["hidden_size"]
    assert config.intermediate_size == recipe["intermediate_size"]
    assert config.num_attention_heads == recipe["num_attention_heads"]
    assert list(config.conv_dim) == [recipe["conv_channels"]] * 7


def test_embedded_teacher_loads_offline_and_yields_every_layer(card, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    teacher = load_teacher(EMBEDDED)
    assert sum(p.numel() for p in teacher.parameters()) == card["parameters"]
    assert all(not p.requires_grad for p in teacher.parameters())
    waves = torch.randn(2, 16000) * 0.1
    out = teacher(waves, torch.tensor([16000, 12000]))
    assert len(out.hidden_states) == card["num_hidden_layers"] + 1
    assert all(h.shape == (2, 49, card["hidden_size"]) for h in out.hidden_states)
    assert out.lengths.tolist() == [49, 37]
    assert all(torch.isfinite(h).all() for h in out.hidden_states)


def test_card_records_that_pretraining_beat_the_random_twin(card):
    for task in CARD_TASKS:
        p = card["probes"][task]
        gap = (
            p["random_twin"] - p["pretrained"]
            if p["lower_is_better"]
            else p["pretrained"] - p["random_twin"]
        )
        assert gap >= 5.0, (task, p)  # points of PER / accuracy
    text = (EMBEDDED_DIR / CARD_NAME).read_text()
    assert f"{card['steps']} steps" in text and f"{card['parameters']:,}" in text
