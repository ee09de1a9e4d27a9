"""Versions from production tags: semantic order, other tags ignored, bumps by release type."""

from __future__ import annotations

import subprocess

import pytest

from cockpit.config import load_config
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


def test_semver_pre_release_tags_count_and_order(tmp_path):
    make_repo(
        tmp_path,
        [
            ("a", "production-v1.3.0-rc.2"),
            ("b", "production-v1.3.0-rc.10"),
            ("c", "production-v1.2.9"),
            ("d", "production-v1.4"),  # not semver: does not count
            ("e", "production-v01.5.0"),  # leading zero: not semver either
        ],
    )
    assert [t for _, t in production_versions(tmp_path)] == [
        "production-v1.2.9",
        "production-v1.3.0-rc.2",
        "production-v1.3.0-rc.10",
    ]
    assert str(next_version(tmp_path, "standard")) == "1.3.0"  # the release the rc leads to
    assert str(next_version(tmp_path, "patch")) == "1.3.0"


def test_the_workspace_config_is_read_for_scheme_tags_and_types(tmp_path):
    make_repo(
        tmp_path,
        [("a", "release-9.9"), ("b", "release-10.0b3"), ("c", "production-v11.0"), ("d", None)],
    )
    (tmp_path / "cockpit.yaml").write_text(
        "release_types:\n"
        "  maintenance: {bump: patch}\n"
        "  prerelease: {bump: pre}\n"
        "versioning: {scheme: pep440, tag: 'release-{version}'}\n"
    )
    rules = load_config(tmp_path / "cockpit.yaml").versioning_rules()
    assert str(current_version(tmp_path, rules)) == "10.0b3"
    assert str(next_version(tmp_path, "maintenance", rules)) == "10.0"
    assert str(next_version(tmp_path, "prerelease", rules)) == "10.0b4"
    with pytest.raises(CockpitError, match="unknown release type 'standard'"):
        next_version(tmp_path, "standard", rules)
    result = subprocess.run(
        cockpit_cmd("version", "next", "--type", "prerelease"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout) == (0, "10.0b4\n")
