import pytest

from crm.testing import Cast, build_cast


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()
