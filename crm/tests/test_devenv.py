"""`python -m crm.devenv` writes development secrets once and never overwrites a developer's .env."""

import base64

from crm.devenv import defined_names, ensure_env_file


def read_env(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def test_a_new_env_file_gets_debug_and_fresh_secrets(tmp_path):
    path = tmp_path / ".env"

    ensure_env_file(path)

    values = read_env(path)
    assert values["DEBUG"] == "true"
    assert len(values["SECRET_KEY"]) >= 50
    assert len(base64.b64decode(values["FIELD_ENCRYPTION_KEYS"])) == 32
    assert len(base64.b64decode(values["FIELD_BLIND_INDEX_KEY"])) == 32
    assert "# DATABASE_URL=" in path.read_text()
    assert "# REDIS_URL=" in path.read_text()
    assert "# EMAIL_URL=" in path.read_text()
    assert path.stat().st_mode & 0o077 == 0


def test_two_checkouts_get_different_secrets(tmp_path):
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    ensure_env_file(first)
    ensure_env_file(second)

    assert read_env(first)["SECRET_KEY"] != read_env(second)["SECRET_KEY"]
    assert read_env(first)["FIELD_ENCRYPTION_KEYS"] != read_env(second)["FIELD_ENCRYPTION_KEYS"]


def test_an_existing_env_file_is_kept_and_only_missing_secrets_are_appended(tmp_path):
    path = tmp_path / ".env"
    path.write_text("DEBUG=false\nSECRET_KEY=mine\n# FIELD_BLIND_INDEX_KEY=commented-out\nREDIS_URL=redis://x/1")

    written = ensure_env_file(path)

    assert written == ["FIELD_ENCRYPTION_KEYS", "FIELD_BLIND_INDEX_KEY"]
    text = path.read_text()
    assert text.startswith(
        "DEBUG=false\nSECRET_KEY=mine\n# FIELD_BLIND_INDEX_KEY=commented-out\nREDIS_URL=redis://x/1\n"
    )
    values = read_env(path)
    assert values["SECRET_KEY"] == "mine"
    assert values["DEBUG"] == "false"
    assert len(base64.b64decode(values["FIELD_BLIND_INDEX_KEY"])) == 32


def test_a_complete_env_file_is_left_untouched(tmp_path):
    path = tmp_path / ".env"
    ensure_env_file(path)
    before = path.read_text()

    assert ensure_env_file(path) == []
    assert path.read_text() == before


def test_defined_names_ignores_comments_and_accepts_export():
    assert defined_names("# A=1\nexport B=2\n C = 3\nnot a line\n") == {"B", "C"}
