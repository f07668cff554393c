"""Settings come from the environment; production refuses to start without a SECRET_KEY."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_check(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    # `make test` exports SECRET_KEY_FILE: each case says for itself where the key comes from.
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "SECRET_KEY_FILE", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", "check", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_secret_key(tmp_path):
    result = run_check({"DEBUG": "False", "STANDPOINT_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_dev_key_is_generated_and_kept(tmp_path):
    assert run_check({"DEBUG": "True", "STANDPOINT_VAR_DIR": str(tmp_path)}).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert run_check({"DEBUG": "True", "STANDPOINT_VAR_DIR": str(tmp_path)}).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run_check({
        "DEBUG": "False", "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-9f8e7d6c5b4a",
        "ALLOWED_HOSTS": "standpoint.example.org", "SECURE_SSL_REDIRECT": "True", "SECURE_HSTS_SECONDS": "31536000",
        "SESSION_COOKIE_SECURE": "True", "CSRF_COOKIE_SECURE": "True", "STANDPOINT_VAR_DIR": str(tmp_path),
    }, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout


def test_a_setting_that_does_not_parse_names_its_variable(tmp_path):
    for variable, value, kind in (("EXPORT_PROCESSES", "two", "int"), ("SECURE_HSTS_SECONDS", "1.5", "int")):
        result = run_check({"DEBUG": "True", "STANDPOINT_VAR_DIR": str(tmp_path), variable: value})
        assert result.returncode != 0
        assert (f"ImproperlyConfigured: {variable}='{value}' (environment or .env): "
                f"invalid literal for {kind}() with base 10: '{value}'") in result.stderr
