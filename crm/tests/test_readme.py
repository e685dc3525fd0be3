"""README.md stays accurate: it documents every setting read from the environment and every make target."""

import re

from django.conf import settings

README = (settings.BASE_DIR / "README.md").read_text(encoding="utf-8")


def test_every_environment_variable_in_settings_is_documented():
    source = (settings.BASE_DIR / "crm" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]*)"', source))
    names |= set(re.findall(r'"([A-Z][A-Z0-9_]*)" in env', source))

    assert names, "no environment variables found in settings.py"
    assert sorted(name for name in names if f"`{name}`" not in README) == []


def test_every_make_target_is_documented():
    makefile = (settings.BASE_DIR / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z-]+):.*## ", makefile, flags=re.MULTILINE)

    assert targets
    assert [target for target in targets if f"`make {target}`" not in README] == []
