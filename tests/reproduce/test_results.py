import json

from gendistiller.reproduce import results
from gendistiller.reproduce.claims import CLAIMS


def _job(out, variant, seed, pr, cos):
    result = {
        "variant": variant,
        "seed": seed,
        "parameters": 100 if variant == "gendistiller" else 120,
        "parameters_with_heads": 100 if variant == "gendistiller" else 160,
        "fidelity": {"target_layers": [2, 4], "l1": [0.1, 0.2], "cosine": [cos, cos - 0.1]},
        "probes": {"pr": {"test": pr, "lower_is_better": True, "metric": "PER"}},
    }
    (out / "jobs").mkdir(exist_ok=True)
    (out / "jobs" / f"{variant}-seed{seed}.json").write_text(json.dumps(result))


def test_table_and_claims_come_from_the_job_files(tmp_path):
    for seed, noise in enumerate((0.0, 0.5, -0.5)):
        _job(tmp_path, "gendistiller", seed, 30 + noise, 0.9 + noise / 100)
        _job(tmp_path, "distilhubert", seed, 40 + noise, 0.8 + noise / 100)
    meta = {"scale": "t", "command": "c", "machine": "m", "wall_minutes": 1, "teacher_spec": "t"}
    r = results.build(tmp_path, ["pr"], meta)
    assert r["stats"]["gendistiller"]["pr"]["mean"] == 30.0
    by_claim = {c["claim"]: c for c in r["claims"]}
    assert by_claim[CLAIMS[0].text]["verdict"] == "held"
    params = r["cost_claims"][0]
    assert params["verdict"] == "held" and "0.62x" in params["measured"]
    results.write(r, tmp_path / "out")
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| gendistiller | 0.00 |" in md and "30.0 ± 0.5" in md
    assert (tmp_path / "out" / "scores.png").stat().st_size > 0
