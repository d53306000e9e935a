"""What a reproduction cost: per-unit minutes from the results, summed over workers."""

from gendistiller.reproduce.costs import cost_section, unit_costs


def _job(**seconds) -> dict:
    return {"seconds": seconds}


def test_unit_costs_count_the_latest_evaluation_and_every_reference():
    jobs = {
        "a": [_job(distill=60.0, evaluate=120.0), _job(distill=120.0, evaluate=60.0, reprobe=30.0)],
        "b": [_job(distill=6.0, evaluate=6.0)],
    }
    refs = {"teacher": {"seconds": 600.0}, "controls": {"seconds": 60.0}}
    cost = unit_costs(jobs, refs)
    # a re-probed student counts the probing that replaced its first evaluation
    assert cost["variants"]["a"] == {"students": 2, "distill": 3.0, "evaluate": 2.5}
    assert cost["variants"]["b"] == {"students": 1, "distill": 0.1, "evaluate": 0.1}
    assert cost["references"] == {"teacher": 10.0, "controls": 1.0}
    assert cost["worker_minutes"] == 16.7 and cost["complete"]


def test_references_without_a_record_are_named_and_left_out_of_the_sum():
    cost = unit_costs({"a": [_job(distill=60.0, evaluate=60.0)]},
                      {"teacher": {"probes": {}}, "teacher-random": None})  # fmt: skip
    assert cost["references"] == {"teacher": None, "teacher-random": None}
    assert cost["worker_minutes"] == 2.0 and not cost["complete"]
    text = "\n".join(cost_section({"cost": cost, "workers": 2, "threads": 1}))
    assert "Minutes on one worker (1 torch thread)" in text
    assert "| teacher | – | – | not recorded | not recorded |" in text
    assert "(the units not recorded left out)" in text
    assert "Over 2 worker(s): at least 1.0 min" in text


def test_the_section_lists_every_variant_with_its_total():
    cost = unit_costs({"a": [_job(distill=90.0, evaluate=30.0)]}, {"teacher": {"seconds": 6.0}})
    text = "\n".join(cost_section({"cost": cost}))
    assert "| a | 1 | 1.5 | 0.5 | 2.0 |" in text and "**2.1**" in text
    assert "worker(s)" not in text  # no worker count, no wall time claimed
    assert "(its torch threads)" in text  # a run that predates the record of its threads
    assert cost_section({}) == []


def test_groups_sum_the_students_of_their_variants_in_the_run():
    jobs = {"a": [_job(distill=60.0, evaluate=60.0)], "b": [_job(distill=120.0, evaluate=0.0)]}
    cost = unit_costs(jobs, {}, {"g": ("a", "b"), "h": ("b", "missing"), "empty": ("missing",)})
    assert cost["groups"] == {"g": 4.0, "h": 2.0}  # a group with no variant run is left out
    text = "\n".join(cost_section({"cost": cost, "workers": 2}))
    assert "`g` 4.0 (at least 2.0 min over 2), `h` 2.0 (at least 1.0 min over 2)" in text
