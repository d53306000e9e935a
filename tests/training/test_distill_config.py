"""Config system: recipes, dotted overrides, errors naming the key before any heavy work."""

from __future__ import annotations

import pytest
import yaml

from gendistiller import cli
from gendistiller.config import build, describe
from gendistiller.errors import ConfigError
from gendistiller.training import run as run_mod
from gendistiller.training.config import DistillConfig, load_config, recipe_names

PAPER_RECIPES = [
    "gendistiller-wavlm-base-plus",
    "distilhubert-wavlm-base-plus",
    "gendistiller-hubert-base-ls960",
    "distilhubert-hubert-base-ls960",
]


def test_shipped_recipes():
    assert set(recipe_names()) == {*PAPER_RECIPES, "tiny", "demo"}
    for name in PAPER_RECIPES:
        cfg = load_config(name)
        assert cfg.teacher.spec in ("microsoft/wavlm-base-plus", "facebook/hubert-base-ls960")
        assert cfg.student.preset.split("-")[0] == name.split("-")[0]
        assert cfg.data.source == "librispeech"
        assert cfg.data.subsets == ["train-clean-100", "train-clean-360", "train-other-500"]
        assert (cfg.trainer.max_steps, cfg.data.batch_size, cfg.data.max_samples) == (
            200_000,
            24,
            250_000,
        )
        assert (cfg.optim.lr, cfg.optim.betas, cfg.optim.eps, cfg.optim.weight_decay) == (
            2e-4,
            (0.9, 0.98),
            1e-6,
            0.01,
        )
        assert (cfg.optim.warmup_ratio, cfg.trainer.gradient_clip_val) == (0.07, 5.0)
    tiny = load_config("tiny")
    assert tiny.teacher.spec.startswith("random:") and tiny.trainer.accelerator == "cpu"


def test_defaults_are_the_baseline_recipe():
    cfg = build(DistillConfig, {})
    assert (cfg.optim.lr, cfg.optim.betas, cfg.optim.warmup_ratio) == (2e-4, (0.9, 0.98), 0.07)
    assert (cfg.trainer.gradient_clip_val, cfg.data.max_samples, cfg.data.batch_size) == (
        5.0,
        250_000,
        24,
    )


def test_overrides_and_yaml_files(tmp_path):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text(yaml.safe_dump({"run": {"name": "x"}, "trainer": {"max_steps": 10}}))
    cfg = load_config(
        str(recipe),
        [
            "trainer.max_steps=1000",
            "data.subsets=train-clean-100,train-clean-360",
            "optim.betas=[0.8, 0.9]",
            "trainer.precision=bf16-mixed",
            "trainer.devices=2",
            "teacher.spec=random:hubert",
            "teacher.overrides.num_hidden_layers=3",
            "student.overrides.teacher_forcing_ratio=0.25",
        ],
    )
    assert cfg.run.name == "x" and cfg.trainer.max_steps == 1000
    assert cfg.data.subsets == ["train-clean-100", "train-clean-360"]
    assert cfg.optim.betas == (0.8, 0.9) and cfg.trainer.devices == 2
    assert cfg.teacher.overrides == {"num_hidden_layers": 3}
    assert cfg.student.build_config().teacher_forcing_ratio == 0.25
    assert str(cfg.run_dir) == "runs/x"


@pytest.mark.parametrize(
    "override, key",
    [
        ("trainer.max_stepz=3", "trainer.max_stepz"),
        ("nosuch.key=1", "nosuch"),
        ("optim.lr=-1", "optim.lr"),
        ("optim.betas=[0.9]", "optim.betas"),
        ("trainer.max_steps=many", "trainer.max_steps"),
        ("trainer.precision=64", "trainer.precision"),
        ("trainer.strategy=warp", "trainer.strategy"),
        ("data.source=s3", "data.source"),
        ("data.min_samples=300000", "data.min_samples"),
        ("student.preset=huge", "student.preset"),
        ("student.overrides.nope=1", "student.overrides"),
        ("teacher.spec=random:whisper", "teacher.spec"),
        ("trainer.max_steps.x=1", "trainer.max_steps"),
        ("loss.distance=cosine", "loss.distance"),
        ("loss.depth_weight_exponent=-1", "loss.depth_weight_exponent"),
        ("student.overrides.teacher_forcing_schedule=cosine", "student.overrides"),
        ("justtext", "justtext"),
    ],
)
def test_bad_configs_name_the_key(override, key):
    with pytest.raises(ConfigError) as err:
        load_config("tiny", [override])
    assert key in str(err.value)


def test_config_errors_come_before_any_heavy_work(tmp_path, monkeypatch, capsys):
    def heavy(*args, **kwargs):
        raise AssertionError("heavy work started before the config was checked")

    monkeypatch.setattr(run_mod, "scan_source", heavy)
    monkeypatch.setattr("gendistiller.teachers.load_teacher", heavy)
    cases = [
        (["trainer.max_steps=0"], "trainer.max_steps"),
        ([f"data.root={tmp_path / 'missing'}"], "data.root"),
        (["data.root="], "data.root"),
        ([f"data.root={tmp_path}", "run.resume=/no/such.ckpt"], "run.resume"),
        ([f"data.root={tmp_path}", "trainer.devices=0,1"], "trainer"),
    ]
    for overrides, key in cases:
        code = cli.main(["distill", "--config", "tiny", f"run.dir={tmp_path / 'r'}", *overrides])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err
        assert err.startswith(f"gendistiller distill: error: {key}"), err


def test_help_lists_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["distill", "--help"])
    text = capsys.readouterr().out
    for line in describe(DistillConfig):
        key_and_default = line.splitlines()[0].strip()
        assert key_and_default in text
    assert "trainer.max_steps = 200000" in text and "optim.lr = 0.0002" in text


def test_print_config_round_trips(tmp_path, capsys):
    assert cli.main(["distill", "--config", "tiny", "trainer.max_steps=7", "--print-config"]) == 0
    saved = tmp_path / "resolved.yaml"
    saved.write_text(capsys.readouterr().out)
    assert load_config(str(saved)) == load_config("tiny", ["trainer.max_steps=7"])


def test_scale_to_teacher_resizes_the_preset():
    from gendistiller.teachers import teacher_config
    from gendistiller.training.config import load_config

    cfg = load_config(
        "tiny",
        ["data.root=/tmp", "student.preset=distilhubert-base", "student.scale_to_teacher=true"],
    )
    tiny = teacher_config("random:wavlm-tiny")
    scaled = cfg.student.build_config(teacher_config=tiny)
    assert (
        scaled.hidden_size == 32 and scaled.conv_dim == [32] * 7 and scaled.target_layers == [1, 2]
    )
    assert cfg.student.build_config().hidden_size == 768  # unscaled without a teacher config


def test_the_help_and_the_docs_name_every_student_preset():
    from pathlib import Path

    from gendistiller.students.presets import PRESETS
    from gendistiller.training.config import StudentSection

    root = Path(__file__).resolve().parents[2]
    help_text = StudentSection.model_fields["preset"].description
    training = (root / "docs" / "training.md").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    for name in PRESETS:
        assert name in help_text.split(" | "), name
        assert f"`{name}`" in training, name
        assert f"`{name}`" in readme.split("## Set-up")[0], name  # the presets table
