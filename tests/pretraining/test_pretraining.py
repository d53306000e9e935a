import lightning as L
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gendistiller.pretraining import PretrainConfig, pretrain
from gendistiller.pretraining.data import MaskedCrops, frames_for, span_mask
from gendistiller.pretraining.targets import Codebook, assign, fit_kmeans, mfcc
from gendistiller.teachers import Teacher


def test_mfcc_frames_line_up_with_the_encoder():
    for n in (400, 16000, 12345):
        assert mfcc(np.random.default_rng(0).standard_normal(n).astype(np.float32)).shape == (
            frames_for(n),
            39,
        )


def test_kmeans_is_reproducible_and_assigns_nearest():
    rng = np.random.default_rng(0)
    blobs = np.concatenate([rng.normal(c, 0.1, size=(200, 2)) for c in (-5, 0, 5)]).astype(
        np.float32
    )
    a, b = fit_kmeans(blobs, 3, seed=1), fit_kmeans(blobs, 3, seed=1)
    np.testing.assert_array_equal(a, b)
    labels = assign(a, blobs)
    assert len(set(labels[:200])) == len(set(labels[200:400])) == 1 and len(set(labels)) == 3


def test_standardised_codebook_is_not_ruled_by_one_large_dimension(tmp_path):
    # dimension 0 has a huge scale but no structure; dimension 1 holds two clusters
    rng = np.random.default_rng(0)
    groups = np.repeat([0, 1], 300)
    feats = np.stack(
        [rng.normal(0, 100, size=600), np.where(groups, 3.0, -3.0) + rng.normal(0, 0.1, 600)],
        axis=1,
    ).astype(np.float32)
    plain = Codebook.fit(feats, 2, seed=0, standardize=False).assign(feats)
    scaled = Codebook.fit(feats, 2, seed=0, standardize=True)

    def agreement(labels):
        return max(np.mean(labels == groups), np.mean(labels != groups))

    assert agreement(scaled.assign(feats)) == 1.0
    assert agreement(plain) < 0.8
    scaled.save(tmp_path / "k.safetensors")
    np.testing.assert_array_equal(
        Codebook.load(tmp_path / "k.safetensors").assign(feats), scaled.assign(feats)
    )


def test_span_mask_covers_about_the_asked_share():
    rng = np.random.default_rng(0)
    shares = [span_mask(rng, 100, 0.65, 10).mean() for _ in range(200)]
    assert 0.4 < np.mean(shares) < 0.65


def test_batches_are_a_function_of_seed_and_step():
    waves = [
        np.random.default_rng(i).standard_normal(16000 + 800 * i).astype(np.float32)
        for i in range(5)
    ]
    labels = [np.arange(frames_for(len(w))) for w in waves]

    def make():
        return MaskedCrops(
            waves,
            labels,
            batch_size=3,
            crop_samples=8000,
            mask_prob=0.5,
            mask_length=5,
            seed=7,
            steps=4,
        )

    a, b = make().batch(2), make().batch(2)
    for key in a:
        assert torch.equal(a[key], b[key])
    # labels stay aligned with the crop: label k is frame k of the source utterance
    batch = make().batch(0)
    assert batch["waveforms"].shape[1] == (frames_for(8000) - 1) * 320 + 400
    assert (batch["labels"][:, 1:] - batch["labels"][:, :-1] == 1).all()


def _cfg(out, corpus, steps):
    return PretrainConfig(
        out=str(out), corpus=str(corpus), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, conv_channels=32, num_clusters=8, steps=steps, batch_size=2,
        crop_seconds=0.8, checkpoint_every=2, kmeans_frames=5000,
    )  # fmt: skip


class _StopAt(L.Callback):
    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step >= self.step:
            trainer.should_stop = True  # the run ends here, as if killed after a checkpoint


def test_killed_run_resumes_exactly(tmp_path, tiny_corpus):
    straight = pretrain(_cfg(tmp_path / "a", tiny_corpus.root, 4), progress=False)
    pretrain(_cfg(tmp_path / "b", tiny_corpus.root, 4), progress=False, callbacks=[_StopAt(2)])
    resumed = pretrain(_cfg(tmp_path / "b", tiny_corpus.root, 4), progress=False)
    assert straight.steps == resumed.steps == 4
    a = load_file(str(straight.teacher_dir / "model.safetensors"))
    b = load_file(str(resumed.teacher_dir / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    teacher = Teacher.from_pretrained(resumed.teacher_dir)
    assert next(teacher.parameters()).dtype == torch.float32
    assert len(teacher(torch.randn(1, 8000)).hidden_states) == 3


def test_bad_option_is_named():
    from gendistiller.config import build
    from gendistiller.errors import ConfigError

    with pytest.raises(ConfigError, match="mask_prob"):
        build(PretrainConfig, {"mask_prob": 1.5})
