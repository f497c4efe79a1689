"""The [monitoring] section: validated at start, turned into the domain's rules."""

from __future__ import annotations

import pytest

from agent.config import parse_config
from agent.errors import ConfigError

BASE = {"hospital": {"code": "H1", "name": "x"}}


def test_defaults_follow_the_bureaus_calendar_day_time_progress() -> None:
    cfg = parse_config(BASE)
    assert cfg.monitoring.progress_rules().time_basis == "calendar"
    assert cfg.monitoring.detect_rules().persistence == 1  # one flagged evaluation, at a strict level
    assert cfg.monitoring.detect_rules().long_windows == ()
    assert cfg.monitoring.deadline_rules().online_rate_drug == 0.9
    assert cfg.monitoring.drift_points == 0.2  # 20 percentage points of the agreed volume


def test_values_reach_the_rules() -> None:
    cfg = parse_config({**BASE, "monitoring": {"time_basis": "workdays", "behind_margin": 0.05, "drift_points": 0.3,
                                               "detect": {"fdr": 0.05, "short_windows": [],
                                                          "long_windows": [21, 35], "cell_min_volume": 14,
                                                          "family_shares": [1, 1, 1, 3, 1], "level_drift": 0.05},
                                               "deadlines": {"payment": "30_days"}}})
    assert cfg.monitoring.progress_rules().behind_margin == 0.05
    assert cfg.monitoring.detect_rules().short_windows == ()
    assert cfg.monitoring.detect_rules().long_windows == (21, 35)
    assert cfg.monitoring.detect_rules().cell_min_volume == 14
    assert cfg.monitoring.detect_rules().family_shares == (1, 1, 1, 3, 1)
    assert cfg.monitoring.detect_rules().level_drift == 0.05
    assert cfg.monitoring.deadline_rules().payment == "30_days"
    assert cfg.monitoring.drift_points == 0.3


@pytest.mark.parametrize("section,key", [
    ({"detect": {"fdr": 2}}, "monitoring.detect.fdr"),
    ({"time_basis": "hours"}, "monitoring.time_basis"),
    ({"deadlines": {"payment": "never"}}, "monitoring.deadlines.payment"),
    ({"typo": 1}, "monitoring.typo"),
    ({"drift_points": 0}, "monitoring.drift_points"),
    ({"drift_points": 20}, "monitoring.drift_points"),  # a share, not percentage points
    ({"detect": {"family_shares": [1, 1]}}, "monitoring.detect.family_shares"),  # five families, or none
])
def test_a_bad_value_names_its_key(section: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, "monitoring": section}, "agent.toml")
    assert any(f"agent.toml: {key}:" in line for line in err.value.problems)
