"""The ``data`` section of a training config: where the audio is and how it is batched."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import model_validator

from gendistiller.config import CommaList, ConfigModel, Field, FieldError
from gendistiller.errors import ConfigError

LIBRISPEECH_960H = ["train-clean-100", "train-clean-360", "train-other-500"]


class DataConfig(ConfigModel):
    source: Literal["librispeech", "folder", "manifest"] = Field(
        "folder",
        description="librispeech: the subsets of a LibriSpeech tree; folder: every audio file"
        " under root; manifest: a TSV/CSV list of files",
    )
    root: str = Field(
        "",
        description="LibriSpeech folder or audio folder; for manifests, the base of relative"
        " paths (default: the manifest's folder)",
    )
    subsets: Annotated[list[str], CommaList] = Field(
        default_factory=lambda: list(LIBRISPEECH_960H),
        description="LibriSpeech subsets to use (comma-separated on the command line)",
    )
    manifest: str = Field(
        "",
        description="TSV/CSV file, one audio path per line with an optional number of samples;"
        " a fairseq-style first line naming the root folder is understood",
    )
    extensions: Annotated[list[str], CommaList] = Field(
        default_factory=list,
        description="file suffixes to scan in folders (empty: every format soundfile reads)",
    )
    max_samples: int = Field(
        250_000, ge=400, description="random crops are at most this long (samples at 16 kHz)"
    )
    min_samples: int = Field(
        16_000, ge=400, description="files shorter than this (samples at 16 kHz) are skipped"
    )
    batch_size: int = Field(24, ge=1, description="utterances per batch on each device")
    bucket_batches: int = Field(
        50,
        ge=0,
        description="sort this many batches' worth of shuffled files by length before"
        " batching, so a batch's common crop length wastes little audio (0: no bucketing)",
    )
    num_workers: int = Field(
        2, ge=0, description="DataLoader worker processes (0: load in the main process)"
    )
    verify: Literal["full", "header"] = Field(
        "full",
        description="full: decode every file once at scan time (finds NaN/inf and all-silent"
        " files; cached); header: read headers only (faster first scan)",
    )
    cache_dir: str = Field(
        "",
        description="folder for the scan cache (empty: $GENDISTILLER_CACHE/scans, else"
        " ~/.cache/gendistiller/scans; never the data folder)",
    )
    scan_workers: int = Field(
        0,
        ge=0,
        description="processes for the first scan of a large corpus (0: up to 8, one per CPU)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> DataConfig:
        if self.min_samples > self.max_samples:
            raise FieldError(
                "min_samples", f"{self.min_samples} is above max_samples ({self.max_samples})"
            )
        if self.source == "librispeech" and not self.subsets:
            raise FieldError("subsets", "needs at least one LibriSpeech subset")
        return self

    def check_paths(self, prefix: str = "data") -> None:
        """Existence checks, run before any heavy work (separate from parsing so that
        ``--print-config`` works for a recipe whose data is elsewhere)."""
        if self.source == "manifest":
            if not self.manifest:
                raise ConfigError(f"{prefix}.manifest: required when {prefix}.source=manifest")
            if not Path(self.manifest).is_file():
                raise ConfigError(f"{prefix}.manifest: {self.manifest} is not a file")
            if self.root and not Path(self.root).is_dir():
                raise ConfigError(f"{prefix}.root: {self.root} is not a folder")
            return
        if not self.root:
            raise ConfigError(
                f"{prefix}.root: required (the {self.source} folder), e.g. {prefix}.root=DIR"
            )
        if not Path(self.root).is_dir():
            raise ConfigError(f"{prefix}.root: {self.root} is not a folder")
        if self.source == "librispeech":
            missing = [s for s in self.subsets if not (Path(self.root) / s).is_dir()]
            if missing:
                raise ConfigError(
                    f"{prefix}.subsets: {', '.join(missing)} not found under {self.root}"
                )
