"""Versions from production tags: semantic order, other tags ignored, bumps by release type."""

from __future__ import annotations

import subprocess

import pytest

from cockpit.demo_sandbox import make_repo
from cockpit.errors import CockpitError
from cockpit.versions import Version, current_version, next_version, production_versions
from tests.helpers import cockpit_cmd


def test_semantic_order_not_string_order(tmp_path):
    make_repo(
        tmp_path,
        [
            ("a", "production-v1.9.5"),
            ("b", "production-v1.10.0"),
            ("c", "v9.9.9"),
            ("d", "rc-v2.0.0"),
            ("e", "hotfix-v1.10.1"),
            ("f", None),
        ],
    )
    assert current_version(tmp_path) == Version(1, 10, 0)
    assert [t for _, t in production_versions(tmp_path)] == [
        "production-v1.9.5",
        "production-v1.10.0",
    ]
    assert str(next_version(tmp_path, "standard")) == "1.11.0"
    assert str(next_version(tmp_path, "patch")) == "1.10.1"
    assert str(next_version(tmp_path, "hotfix")) == "1.10.1"
    assert str(next_version(tmp_path, "major")) == "2.0.0"


def test_no_tags_counts_from_zero(tmp_path):
    make_repo(tmp_path, [("first", None)])
    assert current_version(tmp_path) is None
    assert str(next_version(tmp_path, "major")) == "1.0.0"


def test_not_a_repository_is_said_in_words(tmp_path):
    with pytest.raises(CockpitError, match="not a git repository"):
        current_version(tmp_path)
    result = subprocess.run(
        cockpit_cmd("version", "next", "--type", "patch"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "not a git repository" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_version_next(workspace_dir):
    result = subprocess.run(
        cockpit_cmd("version", "next", "--type", "standard"),
        cwd=workspace_dir,
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout) == (0, "1.3.0\n")
