from __future__ import annotations

import pytest

from tests.ingest_support import ENGINES, SourceDb, make_source_db


@pytest.fixture(params=ENGINES)
def source_db(request: pytest.FixtureRequest) -> SourceDb:
    """A fresh source database on each engine the presets run on in tests."""
    return make_source_db(request, request.param)
