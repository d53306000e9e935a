"""gendistiller.config: pydantic models, dotted overrides, one-line errors, help, flags."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import model_validator

from gendistiller.config import (
    CommaList,
    ConfigModel,
    Field,
    FieldError,
    add_flags,
    build,
    describe,
    from_flags,
    resolve,
)
from gendistiller.errors import ConfigError


class Inner(ConfigModel):
    lr: float = Field(0.1, gt=0, description="learning rate")
    low: int = Field(1, ge=0, description="lower bound")
    high: int = Field(5, ge=0, description="upper bound")
    kind: Literal["a", "b"] = Field("a", description="which kind")
    names: Annotated[list[str], CommaList] = Field(default_factory=list, description="names")
    extra: dict[str, Any] = Field(default_factory=dict, description="free-form")

    @model_validator(mode="after")
    def _ordered(self) -> Inner:
        if self.low > self.high:
            raise FieldError("low", f"{self.low} is above high ({self.high})")
        return self


class Outer(ConfigModel):
    name: str = Field("x", description="a name")
    path: str = Field("", description="a path")
    inner: Inner = Field(default_factory=Inner)


@pytest.mark.parametrize(
    "override, message",
    [
        ("inner.lr=-1", "inner.lr: must be > 0 (got -1)"),
        ("inner.lrr=1", "inner.lrr: unknown option (valid: extra, high, kind, low, lr, names)"),
        ("nope=1", "nope: unknown option (valid: inner, name, path)"),
        ("inner.kind=c", "inner.kind: 'c' is not one of 'a' or 'b'"),
        ("inner.low=many", "inner.low: expected an integer (got 'many')"),
        ("inner.low=9", "inner.low: 9 is above high (5)"),
        ("inner=3", "inner: expected a mapping (got 3)"),
        ("inner.lr.x=1", "inner.lr: expected a number"),
    ],
)
def test_errors_are_one_line_naming_the_dotted_key(override, message):
    with pytest.raises(ConfigError) as err:
        resolve(Outer, {}, [override])
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def test_overrides_are_yaml_scalars_and_lists_take_commas():
    cfg = resolve(Outer, {"inner": {"lr": 0.5}}, ["inner.names=a,b", "inner.extra.k=2", "name=7"])
    assert cfg.inner.lr == 0.5 and cfg.inner.names == ["a", "b"]
    assert cfg.inner.extra == {"k": 2} and cfg.name == "7"
    assert build(Outer, cfg.to_dict()) == cfg  # what a run saves loads back the same


def test_objects_validate_on_construction_assignment_and_merge():
    with pytest.raises(ConfigError, match=r"^inner\.lr: must be > 0"):
        Outer(inner={"lr": 0})
    cfg = Outer(path=Path("/tmp/a"))  # Path objects are accepted for path options
    assert cfg.path == "/tmp/a"
    with pytest.raises(ConfigError, match="lr: must be > 0"):
        cfg.inner.lr = -2
    merged = cfg.merged(inner={"high": 9, "low": 7}, name="y")
    assert (merged.inner.low, merged.inner.high, merged.name) == (7, 9, "y")
    assert cfg.inner.low == 1  # the original is unchanged
    replaced = merged.merged(inner=Inner(low=2))  # an object replaces the whole section
    assert (replaced.inner.low, replaced.inner.high) == (2, 5)
    with pytest.raises(ConfigError, match=r"^inner\.low: 7 is above high \(5\)"):
        merged.merged(inner={"high": 5})


def test_describe_lists_every_key_with_default_and_constraints():
    lines = list(describe(Outer))
    heads = [line.splitlines()[0].strip() for line in lines]
    assert heads[:3] == ["name = x", "path = ''", "inner.lr = 0.1"]
    assert any("learning rate [> 0]" in line for line in lines)
    assert any("which kind [one of a|b]" in line for line in lines)
    assert len(lines) == 2 + len(Inner.model_fields)


class Flat(ConfigModel):
    models: dict[str, str] = Field(description="positional")
    repeats: int = Field(3, ge=1, description="timed runs")
    memory: bool = Field(True, description="measure memory")
    progress: bool = Field(True, description="show progress", json_schema_extra={"flag": "--quiet"})
    tasks: Annotated[list[str], CommaList] = Field(
        default_factory=lambda: ["a", "b"], description="tasks"
    )
    recipe: dict[str, Any] = Field(default_factory=dict, description="overrides")  # fmt: skip


def _parse(argv: list[str]) -> Flat:
    parser = argparse.ArgumentParser()
    add_flags(parser, Flat, exclude=("models",))
    return from_flags(Flat, parser.parse_args(argv), models={"m": "spec"})


def test_flags_come_from_the_fields_and_keep_the_models_defaults():
    assert _parse([]) == Flat(models={"m": "spec"})
    cfg = _parse(
        ["--repeats", "2", "--no-memory", "--quiet", "--tasks", "b", "--recipe", "steps=4"]
    )
    assert (cfg.repeats, cfg.memory, cfg.progress, cfg.tasks) == (2, False, False, ["b"])
    assert cfg.recipe == {"steps": 4}
    with pytest.raises(ConfigError, match=r"^--repeats: must be >= 1"):
        _parse(["--repeats", "0"])
    with pytest.raises(ConfigError, match=r"^--recipe: expected KEY=VALUE"):
        _parse(["--recipe", "steps"])
