import pytest

from gendistiller.errors import ConfigError
from gendistiller.pretraining.config import PretrainConfig
from gendistiller.pretraining.module import encoder_config
from gendistiller.reproduce.plan import (
    SCALES,
    Job,
    distill_config,
    get_scale,
    jobs,
    select_variants,
)
from gendistiller.reproduce.variants import (
    BASELINE,
    BRIEF,
    DEFAULT,
    FAST,
    FAST_STAGED,
    FULL,
    PLUS,
    SHORT_BASELINE,
    SHORT_DEFAULT,
    VARIANT_NAMES,
    VARIANTS,
)
from gendistiller.students import build_student


def _config(variant, seed=0, scale="cpu"):
    return distill_config(
        Job(variant, seed),
        SCALES[scale],
        teacher="embedded",
        manifest="/x/m.tsv",
        corpus_root="/x",
        run_dir="/x/run",
        teacher_cache=f"/x/cache/seed{seed}",
    )


def test_variants_differ_from_each_other_only_in_the_student_its_training_and_budget():
    configs = {v.name: _config(v).to_dict() for v in VARIANTS}
    students = {
        n: (c.pop("student"), c.pop("loss"), c.pop("frontend_stage")) for n, c in configs.items()
    }
    runs = [c.pop("run") for c in configs.values()]
    budgets = {n: (c.pop("trainer"), c.pop("checkpoint")) for n, c in configs.items()}
    assert all(c == configs[DEFAULT] for c in configs.values())
    # the brief and short students are the headline pair itself, trained for fewer steps
    assert students[BRIEF] == students[DEFAULT] == students[SHORT_DEFAULT]
    assert students[SHORT_BASELINE] == students[BASELINE]
    same = {BRIEF, SHORT_DEFAULT, SHORT_BASELINE}
    assert len({repr(s) for n, s in students.items() if n not in same}) == len(VARIANTS) - 3
    # a loss switch changes the loss only: the student is the default's
    assert students["depth-weighted"][0] == students[DEFAULT][0]
    assert students["depth-weighted"][1]["depth_weight_exponent"] == 1.0
    assert students[DEFAULT][1]["depth_weight_exponent"] == 0.0
    # the staged fast student is the fast one with a front-end stage first
    assert students[FAST_STAGED][:2] == students[FAST][:2]
    assert (students[FAST_STAGED][2]["steps"], students[FAST][2]["steps"]) == (300, 0)
    # never longer than the main distillation: the smoke scale's stage is its 3 steps
    staged = next(v for v in VARIANTS if v.name == FAST_STAGED)
    assert _config(staged, scale="smoke").frontend_stage.steps == SCALES["smoke"].steps
    assert {r["seed"] for r in runs} == {0}
    scale = SCALES["cpu"]
    for v in VARIANTS:
        assert budgets[v.name][0]["max_steps"] == scale.steps_of(v)
    assert scale.steps_of(VARIANTS[0]) > scale.ablation_steps > scale.brief_steps


def test_every_variant_builds_at_the_embedded_teachers_size_with_the_papers_proportion():
    teacher = encoder_config(PretrainConfig())
    counts = {}
    for v in VARIANTS:
        cfg = _config(v)
        student = build_student(cfg.student.build_config(teacher_config=teacher))
        assert student.config.hidden_size == teacher.hidden_size
        counts[v.name] = sum(p.numel() for p in student.parameters())
    # GenDistiller about two thirds of the baseline with its heads (paper: 33% fewer)
    assert 0.5 < counts[DEFAULT] / counts[BASELINE] < 0.72
    assert counts["no-outproj"] < counts[DEFAULT] < counts["per-step-weights"]
    # the switches beyond the paper: a step embedding (K x D), K - 1 more projections
    default = next(v for v in VARIANTS if v.name == DEFAULT)
    k, d = len(default.section().build_config("", teacher).target_layers), teacher.hidden_size
    assert counts["step-conditioned"] - counts[DEFAULT] == k * d
    assert counts["per-step-outproj"] - counts[DEFAULT] == (k - 1) * (d * d + d)
    same = ("scheduled-sampling", "depth-weighted", "noisy-teacher-forcing")
    assert {counts[n] for n in same} == {counts[DEFAULT]}
    # output adapters: K x 2 x D x r, within the 5% of the paper's GenDistiller
    r = next(v for v in VARIANTS if v.name == "output-adapters").student["output_adapter_rank"]
    assert counts["output-adapters"] - counts[DEFAULT] == k * 2 * d * r
    assert counts[PLUS] == counts["output-adapters"] <= 1.05 * counts[DEFAULT]
    assert counts[PLUS] <= 0.67 * counts[BASELINE]  # the baseline with its heads


def test_seeds_reach_the_run_config_and_jobs_are_seed_major():
    scale = SCALES["cpu"]
    assert len(scale.seeds) >= 3  # the headline pair: at least 3 distillation seeds
    order = jobs(scale, VARIANTS)
    assert len(order) == sum(len(scale.seeds_of(v)) for v in VARIANTS)
    assert [j.seed for j in order] == sorted(j.seed for j in order)
    first = [j for j in order if j.seed == scale.seeds[0]]
    assert len(first) == len(VARIANTS)  # every variant has the first seed
    # within a seed the longest runs come first
    steps = [scale.steps_of(j.variant) for j in first]
    assert steps == sorted(steps, reverse=True)
    full = {v.name for v in VARIANTS if v.budget == FULL}
    assert {BASELINE, DEFAULT} <= full
    assert _config(VARIANTS[0], seed=2).run.seed == 2


def test_every_job_of_a_seed_shares_the_teacher_cache_and_the_crops():
    configs = [_config(v, seed=1).to_dict() for v in VARIANTS]
    assert len({c["teacher"]["cache"] for c in configs}) == 1
    assert len({repr(c["data"]) for c in configs}) == 1


def test_unknown_scale_or_variant_is_one_clear_error():
    with pytest.raises(ConfigError, match="--scale"):
        get_scale("huge")
    with pytest.raises(ConfigError, match="no-such"):
        select_variants(["gendistiller", "no-such"])
    assert [v.name for v in select_variants(["no-skip", BASELINE])] == [BASELINE, "no-skip"]


def test_groups_cover_every_variant_and_decide_their_own_claims():
    from gendistiller.reproduce.claims import CLAIMS, COST_CLAIMS
    from gendistiller.reproduce.variants import GROUPS

    assert {n for names in GROUPS.values() for n in names} == set(VARIANT_NAMES)
    for group, names in GROUPS.items():
        for c in (*CLAIMS, *COST_CLAIMS):  # a claim about a group's variant has both sides
            if c.a in names and VARIANTS[VARIANT_NAMES.index(c.a)].group == group:
                assert c.b in names, (group, c.a, c.b)
    # a group name selects its variants, a name its variant; together, their union
    fast = {v.name for v in select_variants(["fast"])}
    assert fast == set(GROUPS["fast"]) and {BASELINE, DEFAULT} <= fast
    both = {v.name for v in select_variants(["fast", "no-skip"])}
    assert both == fast | {"no-skip"}
    with pytest.raises(ConfigError, match="choose from the groups paper, fast, beyond"):
        select_variants(["fastest"])


def test_reproduce_options_are_checked_up_front():
    from gendistiller.reproduce.plan import ReproduceConfig

    assert ReproduceConfig(variants="paper,no-skip").variants == ["paper", "no-skip"]
    cfg = ReproduceConfig(variants="no-skip,distilhubert", scale="smoke")
    assert (
        cfg.variants == ["no-skip", "distilhubert"] and str(cfg.out_dir) == "runs/reproduce-smoke"
    )
    with pytest.raises(ConfigError, match=r"^variants: unknown no-such"):
        ReproduceConfig(variants=["no-such"])
    with pytest.raises(ConfigError, match=r"^workers: must be >= 1"):
        ReproduceConfig(workers=0)
