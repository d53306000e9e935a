"""The ``data`` section of a training config: where the audio is and how it is batched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gendistiller.errors import ConfigError
from gendistiller.training.schema import option

LIBRISPEECH_960H = ["train-clean-100", "train-clean-360", "train-other-500"]


@dataclass
class DataConfig:
    source: str = option(
        "folder",
        "librispeech: the subsets of a LibriSpeech tree; folder: every audio file under root;"
        " manifest: a TSV/CSV list of files",
        choices=("librispeech", "folder", "manifest"),
    )
    root: str = option(
        "",
        "LibriSpeech folder or audio folder; for manifests, the base of relative paths"
        " (default: the manifest's folder)",
    )
    subsets: list[str] = option(
        LIBRISPEECH_960H, "LibriSpeech subsets to use (comma-separated on the command line)"
    )
    manifest: str = option(
        "",
        "TSV/CSV file, one audio path per line with an optional number of samples;"
        " a fairseq-style first line naming the root folder is understood",
    )
    extensions: list[str] = option(
        [], "file suffixes to scan in folders (empty: every format soundfile reads)"
    )
    max_samples: int = option(
        250_000, "random crops are at most this long (samples at 16 kHz)", ge=400
    )
    min_samples: int = option(
        16_000, "files shorter than this (samples at 16 kHz) are skipped", ge=400
    )
    batch_size: int = option(24, "utterances per batch on each device", ge=1)
    bucket_batches: int = option(
        50,
        "sort this many batches' worth of shuffled files by length before batching, so a"
        " batch's common crop length wastes little audio (0: no bucketing)",
        ge=0,
    )
    num_workers: int = option(2, "DataLoader worker processes (0: load in the main process)", ge=0)
    verify: str = option(
        "full",
        "full: decode every file once at scan time (finds NaN/inf and all-silent files;"
        " cached); header: read headers only (faster first scan)",
        choices=("full", "header"),
    )
    cache_dir: str = option(
        "",
        "where scan results are cached (empty: next to the data, or ~/.cache/gendistiller"
        " when that is read-only)",
    )
    scan_workers: int = option(
        0, "processes for the first scan of a large corpus (0: up to 8, one per CPU)", ge=0
    )

    def check(self, prefix: str) -> None:
        if self.min_samples > self.max_samples:
            raise ConfigError(
                f"{prefix}.min_samples: {self.min_samples} is above"
                f" {prefix}.max_samples ({self.max_samples})"
            )
        if self.source == "librispeech" and not self.subsets:
            raise ConfigError(f"{prefix}.subsets: needs at least one LibriSpeech subset")

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
