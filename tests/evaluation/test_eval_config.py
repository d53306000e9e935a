"""EvaluateConfig: the evaluate command's one config model (its flags come from it)."""

from __future__ import annotations

import pytest

from gendistiller.cli import build_parser
from gendistiller.config import from_flags
from gendistiller.errors import ConfigError
from gendistiller.evaluation.evaluate_config import EvaluateConfig
from gendistiller.evaluation.probes import TASKS


def _from_cli(*argv: str) -> EvaluateConfig:
    args = build_parser("evaluate").parse_args(["evaluate", "x=random:wavlm-tiny", *argv])
    return from_flags(EvaluateConfig, args, models={"x": "random:wavlm-tiny"})


def test_cli_defaults_are_the_models():
    assert _from_cli() == EvaluateConfig(models={"x": "random:wavlm-tiny"})
    assert _from_cli().tasks == list(TASKS) and _from_cli().repeats == 3


def test_flags_map_to_fields_with_types():
    cfg = _from_cli("--tasks", "KS,pr,ks", "--no-memory", "--quiet", "--recipe", "steps=30",
                    "--recipe", "lr=1e-3", "--data", "librispeech=/ls", "--repeats", "2")  # fmt: skip
    assert cfg.tasks == ["ks", "pr"] and not cfg.memory and not cfg.progress
    assert cfg.recipe == {"steps": 30, "lr": 0.001} and cfg.data == {"librispeech": "/ls"}
    assert cfg.repeats == 2 and cfg.fidelity
    assert _from_cli().control_noise == ["frame"]  # the controls as they were
    assert _from_cli("--control-noise", "frame,utterance").control_noise == ["frame", "utterance"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--teacher", "t"], "--teacher: no model named 't'"),
        (["--recipe", "steps=x"], "--recipe: steps: expected int"),
        (["--recipe", "nope=1"], "--recipe: unknown key 'nope'"),
        (["--similarity", "l2"], "--similarity: 'l2' is not one of"),
        (["--fidelity-utterances", "0"], "--fidelity-utterances: must be >= 1"),
        (["--control-noise", "frame,clip"], "--control-noise[1]: 'clip' is not one of"),
    ],
)
def test_bad_flags_name_the_flag(argv, message):
    with pytest.raises(ConfigError) as err:
        _from_cli(*argv)
    assert str(err.value).startswith(message), str(err.value)


def test_python_callers_get_the_same_checks():
    with pytest.raises(ConfigError, match=r"^models: give at least one"):
        EvaluateConfig(models={})
    with pytest.raises(ConfigError, match=r"^tasks: unknown task 'nope'"):
        EvaluateConfig(models={"x": "y"}, tasks=["nope"])
