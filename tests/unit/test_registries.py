"""Each extension point has one registry, and what the tests parametrise over comes from it.

A new HIS preset, receiver type or platform profile is tested by the contract and integration tests
without editing a test list; these tests make sure it cannot be half-added.
"""

from __future__ import annotations

from adapters.registry import PRESETS
from adapters.sim.hospital import HIS_ROW_WRITERS
from agent.notify import SENDERS
from agent.notify.config import RECEIVER_MODELS
from agent.upstream.profiles import PROFILES
from tests.ingest_support import HIS_PRESETS


def test_every_receiver_type_has_a_sender_and_every_sender_a_config_model() -> None:
    assert set(SENDERS) == set(RECEIVER_MODELS) and SENDERS


def test_the_contract_tests_run_over_every_his_preset_of_the_registry() -> None:
    his = {name for name, p in PRESETS.items() if p.kind in ("his", "prescription")}
    assert set(HIS_PRESETS) == his and his
    assert set(HIS_ROW_WRITERS) == his, "the simulator must be able to fill every HIS preset's tables"


def test_every_preset_is_registered_under_its_own_name_with_its_ddl() -> None:
    for name, preset in PRESETS.items():
        assert preset.name == name
        assert preset.ddl, f"preset {name} ships no DDL for the simulator and the contract tests"


def test_every_profile_is_registered_under_its_own_name() -> None:
    assert PROFILES and all(p.name == name for name, p in PROFILES.items())
