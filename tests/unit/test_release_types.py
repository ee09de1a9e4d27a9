"""Release types and versions from the config: ``release_types`` (what each bumps) and
``versioning`` (semver or pep440, the production tag pattern) — in versions, tags, the
runbook's ``release_types:``, the CLI, the session's placeholders and the start screen."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cockpit.config import check_config
from cockpit.errors import CockpitError
from cockpit.git_changes import plan_hotfix_branch, release_tag
from cockpit.git_summary import summarise
from cockpit.runbook import check_runbook
from cockpit.session import RunSession
from cockpit.versions import Pep440Version, Version, Versioning, current_version
from cockpit.workspace import Workspace
from tests.helpers import cockpit_cmd, phase_workspace, until

PHASE = """\
id: gates
title: Gates
sections:
  - title: Gates
    items:
      - text: Tests pass
      - text: Maintenance window announced
        release_types: [maintenance]
"""

TEAM_CONFIG = """\
runbook: runbook
environments: {}
release_types:            # in this order on the start screen and in messages
  major: {bump: major, description: a new platform generation}
  minor: {bump: minor}
  maintenance: {bump: patch, description: "fixes only, monthly"}
  prerelease: {bump: pre}
versioning:
  scheme: pep440
  tag: "%s"
"""


def tag(root: Path, *names: str) -> None:
    """One commit per tag in the repository at ``root`` (``git`` as a subprocess)."""
    for name in names:
        (root / "CHANGES.txt").open("a").write(f"{name}\n")
        subprocess.run(["git", "-C", str(root), "add", "CHANGES.txt"], check=True)
        who = ["-c", "user.name=T", "-c", "user.email=t@example.com"]
        subprocess.run(
            ["git", "-C", str(root), *who, "commit", "-q", "-m", f"release {name}"], check=True
        )
        subprocess.run(["git", "-C", str(root), "tag", name], check=True)


def cockpit(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(cockpit_cmd(*args), cwd=root, capture_output=True, text=True)


def team_workspace(root: Path, tag_pattern: str = "production-v{version}") -> Path:
    """A pep440 team: major/minor/maintenance/prerelease releases, ``10.0``-style tags."""
    phase_workspace(root, {"10-gates.yaml": PHASE})
    (root / "cockpit.yaml").write_text(TEAM_CONFIG % tag_pattern)
    return root


# -- versions ------------------------------------------------------------------------------


def test_pep440_versions_parse_and_order():
    p = Pep440Version.parse
    assert str(p("10.0")) == "10.0"
    assert p("10.0b3") == p("10.0-beta3")  # one version, two spellings
    assert str(p("10.0-beta3")) == "10.0-beta3"  # kept as written (the tag is found again)
    assert str(p("v10.0")) == "10.0"
    assert p("10.0") < p("10.0.1")
    assert p("9.9") < p("10.0")  # by version, not by string
    assert p("10.0rc1") < p("10.0")
    assert p("10.0b3") < p("10.0rc1") < p("10.0") < p("10.0.post1") < p("10.1.dev1")
    with pytest.raises(CockpitError, match="versioning scheme pep440"):
        p("ten")


def test_semver_pre_releases_order_by_semver_11():
    spec = [  # semver.org §11, in precedence order
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
    ]
    versions = [Version.parse(v) for v in spec]
    assert sorted(reversed(versions)) == versions
    assert [str(v) for v in versions] == spec
    assert Version.parse("1.2.3+build.7") == Version(1, 2, 3)  # build metadata: no precedence
    assert str(Version.parse("1.2.3+build.7")) == "1.2.3+build.7"


@pytest.mark.parametrize("text", ["10.0", "1.2", "01.2.3", "1.2.3-", "1.2.3-rc..1", "1.2.3-01"])
def test_semver_refuses_what_is_not_semver_naming_the_scheme(text):
    with pytest.raises(CockpitError, match="versioning scheme semver"):
        Versioning("semver").parse(text)


@pytest.mark.parametrize(
    ("current", "kind", "expected"),
    [
        ("1.2.3", "major", "2.0.0"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "patch", "1.2.4"),
        ("1.2.3", "pre", "1.3.0-rc.1"),  # a pre-release of the next minor
        ("1.3.0-rc.1", "pre", "1.3.0-rc.2"),  # the next pre-release number
        ("1.3.0-beta", "pre", "1.3.0-beta.1"),
        ("1.3.0-rc.2", "minor", "1.3.0"),  # from a pre-release: the release it leads to
        ("1.3.0-rc.2", "patch", "1.3.0"),
        ("1.3.0-rc.2", "major", "2.0.0"),
        ("2.0.0-rc.1", "major", "2.0.0"),
    ],
)
def test_semver_bumps(current, kind, expected):
    assert str(Version.parse(current).bump(kind)) == expected


@pytest.mark.parametrize(
    ("current", "kind", "expected"),
    [
        ("10.0", "major", "11.0"),
        ("10.0", "minor", "10.1"),
        ("10.0", "patch", "10.0.1"),  # maintenance is patch
        ("10.0", "pre", "10.1rc1"),
        ("1.2.3", "minor", "1.3.0"),  # as many release parts as before
        ("1.2.3", "pre", "1.3.0rc1"),
        ("10.1rc1", "pre", "10.1rc2"),
        ("10.0-beta3", "pre", "10.0b4"),  # a computed version is in PEP 440's normal form
        ("10.1rc2", "minor", "10.1"),
        ("10.1rc2", "patch", "10.1"),
        ("10.1rc2", "major", "11.0"),
        ("11.0rc1", "major", "11.0"),
        ("10.1.dev3", "pre", "10.1rc1"),
    ],
)
def test_pep440_bumps(current, kind, expected):
    assert str(Pep440Version.parse(current).bump(kind)) == expected


def test_release_types_bump_what_the_config_says():
    rules = Versioning("pep440", bumps={"maintenance": "patch", "prerelease": "pre"})
    assert str(rules.after(rules.parse("10.0"), "maintenance")) == "10.0.1"
    assert str(rules.after(None, "prerelease")) == "0.1rc1"  # nothing released: from 0.0
    with pytest.raises(CockpitError, match=r"unknown release type 'standard' \(release types: "):
        rules.after(None, "standard")


# -- tags ----------------------------------------------------------------------------------


def test_tag_patterns_v_and_release(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    tag(tmp_path, "v1.9.5", "v1.10.0", "production-v9.9.9", "rc-v2.0.0", "v1.2", "vv3.0.0")
    rules = Versioning(tag="v{version}")
    assert [t for _, t in rules.production_versions(tmp_path)] == ["v1.9.5", "v1.10.0"]
    assert str(current_version(tmp_path, rules)) == "1.10.0"
    assert rules.tag_for("1.11.0") == "v1.11.0"
    assert rules.version_of("v1.2") is None  # not semver: does not count

    release = Versioning("pep440", tag="release-{version}")
    tag(tmp_path, "release-9.9", "release-10.0rc1", "release-10.0", "release-x", "release-10.0-x")
    assert [t for _, t in release.production_versions(tmp_path)] == [
        "release-9.9",
        "release-10.0rc1",
        "release-10.0",
    ]
    assert release.version_of("release-10.0") == Pep440Version.parse("10.0")
    assert release.tag_for(Pep440Version.parse("10.1rc1")) == "release-10.1rc1"
    assert release_tag("production", "10.1", release) == "release-10.1"
    assert release_tag("rc", "1.3.0", rules) == "rc-v1.3.0"


def test_configured_tags_everywhere_the_workspace_reads_them(tmp_path):
    root = phase_workspace(
        tmp_path / "repo",
        {"10-gates.yaml": PHASE.replace("maintenance", "hotfix")},
        versioning={"tag": "v{version}"},
    )
    tag(root, "production-v5.0.0", "v1.2.0", "v1.2.1")
    ws = Workspace.open(root)
    # helpers given only the folder (the dashboard's git panel, the hotfix branch) follow it
    summary = summarise(root, versioning=ws.versioning)
    assert (summary.last_tag, summary.last_version) == ("v1.2.1", "1.2.1")
    assert plan_hotfix_branch(root, "42", ws.versioning).tag == "v1.2.1"
    session = RunSession.start(ws, "standard", operator="ana")
    try:
        assert session.state.run.version == "1.3.0"
        values = session.placeholder_values()
        assert values["rollback_target"] == "v1.2.1"
        assert values["deployment_range"] == "v1.2.1..v1.3.0"
    finally:
        session.close()


def test_no_tag_of_the_pattern_is_said_with_the_pattern(tmp_path):
    root = team_workspace(tmp_path / "repo", "release-{version}")
    tag(root, "production-v10.0")
    rules = Workspace.open(root).versioning
    assert summarise(root, versioning=rules).warnings[-1] == "no release-X.Y tag yet"
    result = cockpit(root, "version", "next", "--type", "minor")
    assert (result.returncode, result.stdout) == (0, "0.1\n")
    assert "no release-X.Y tag yet; counting from 0.0" in result.stderr


# -- config and runbook mistakes -----------------------------------------------------------


def test_config_mistakes_are_file_line(tmp_path):
    (tmp_path / "cockpit.yaml").write_text(
        "release_types:\n"  # 1
        "  maintenance: {bump: maintenance}\n"  # 2
        "  Minor: {bump: minor}\n"  # 3
        "  prerelease: {bump: pre, descripton: typo}\n"  # 4
        "versioning:\n"  # 5
        "  scheme: calver\n"  # 6
        '  tag: "production"\n'  # 7
        '  rc_tag: "rc-{build}-{version}"\n'  # 8
    )
    result = cockpit(tmp_path, "validate")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    expected = [
        ("cockpit.yaml:3:", "'Minor' is not a release type name"),
        ("cockpit.yaml:2:", "unknown bump 'maintenance' (one of major, minor, patch, pre"),
        ("cockpit.yaml:4:", "unknown key 'descripton'"),
        ("cockpit.yaml:6:", "unknown versioning scheme 'calver' (one of semver, pep440)"),
        ("cockpit.yaml:7:", "'production' must name {version} exactly once"),
        ("cockpit.yaml:8:", "the only placeholder a tag pattern has is {version}"),
    ]
    for where, words in expected:
        assert any(line.startswith(where) and words in line for line in lines), (where, lines)


@pytest.mark.parametrize(
    ("versioning", "words"),
    [
        ({"tag": "production v{version}"}, "not make a valid git tag name"),
        ({"tag": "{version}.lock"}, "not make a valid git tag name"),
        ({"tag": "v{version}", "rc_tag": "v{version}"}, "'tag' and 'rc_tag' must differ"),
        ({"scheme": 440}, "expected text"),
    ],
)
def test_more_versioning_mistakes(tmp_path, versioning, words):
    import yaml

    path = tmp_path / "cockpit.yaml"
    path.write_text(yaml.safe_dump({"versioning": versioning}))
    config, errors = check_config(path)
    assert config is None and any(words in e.message and e.line >= 1 for e in errors), errors


def test_shipped_defaults_when_the_config_says_nothing(tmp_path):
    path = tmp_path / "cockpit.yaml"
    path.write_text("environments: {}\n")
    config, errors = check_config(path)
    assert not errors
    assert config.release_type_names() == ["standard", "patch", "hotfix", "major"]
    rules = config.versioning_rules()
    assert (rules.scheme, rules.tag, rules.rc_tag) == (
        "semver",
        "production-v{version}",
        "rc-v{version}",
    )
    assert dict(rules.bumps) == {
        "standard": "minor",
        "patch": "patch",
        "hotfix": "patch",
        "major": "major",
    }


def test_runbook_naming_an_unconfigured_type_is_file_line(tmp_path):
    phase = (
        "id: gates\n"  # 1
        "title: Gates\n"  # 2
        "release_types: [standard, minor]\n"  # 3
        "sections:\n"  # 4
        "  - title: Gates\n"  # 5
        "    release_types:\n"  # 6
        "      - maintenance\n"  # 7
        "    items:\n"  # 8
        "      - text: Tests pass\n"  # 9
        "        release_types: [hotfix, Bad]\n"  # 10
        "        colour: red\n"  # 11 another mistake: both said in one run
    )
    root = phase_workspace(tmp_path / "repo", {"10-gates.yaml": phase})
    result = cockpit(root, "validate")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    known = "(release types: standard, patch, hotfix, major)"
    assert f"runbook/10-gates.yaml:3: unknown release type 'minor' {known}" in result.stderr
    assert f"runbook/10-gates.yaml:7: unknown release type 'maintenance' {known}" in result.stderr
    assert (
        "runbook/10-gates.yaml:10:" in result.stderr and "'Bad' must be lowercase" in result.stderr
    )
    assert "runbook/10-gates.yaml:11: unknown key 'colour'" in result.stderr
    # configured: the same names are fine
    ok = team_workspace(tmp_path / "team")
    (ok / "runbook" / "10-gates.yaml").write_text(
        phase.replace("standard, ", "")
        .replace("hotfix, Bad", "major")
        .replace("        colour: red\n", "")
    )
    assert cockpit(ok, "validate").returncode == 0


def test_without_a_config_any_name_is_a_release_type(tmp_path):
    path = tmp_path / "10-gates.yaml"
    path.write_text(PHASE.replace("[maintenance]", "[minor, pre-release]"))
    phases, errors = check_runbook([path], None)
    assert not errors and "gates" in phases


# -- the command line and the start screen --------------------------------------------------


def test_start_a_configured_type_with_a_pep440_version(tmp_path):
    root = team_workspace(tmp_path / "repo")
    tag(root, "production-v9.9", "production-v10.0rc1", "rc-v10.0")
    started = cockpit(root, "start", "--type", "maintenance", "--version", "10.0")
    assert started.returncode == 0, started.stderr
    assert "maintenance release 10.0" in started.stdout
    assert "production is at 10.0rc1" in started.stdout
    status = cockpit(root, "status", "--json")
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    assert (doc["run"]["type"], doc["run"]["version"]) == ("maintenance", "10.0")
    items = [i["id"] for p in doc["phases"] for i in p["items"]]
    assert items == ["tests-pass", "maintenance-window-announced"]
    assert cockpit(root, "close").returncode == 0
    beta = cockpit(root, "start", "--type", "prerelease", "--version", "10.1-beta3")
    assert beta.returncode == 0 and "prerelease release 10.1-beta3" in beta.stdout
    nxt = cockpit(root, "version", "next", "--type", "prerelease")
    assert (nxt.returncode, nxt.stdout) == (0, "10.0rc2\n")
    nxt = cockpit(root, "version", "next", "--type", "minor")
    assert (nxt.returncode, nxt.stdout) == (0, "10.0\n")


def test_unknown_type_exits_2_listing_the_types(tmp_path):
    root = team_workspace(tmp_path / "repo")
    for args in (("start", "--type", "nope"), ("version", "next", "--type", "nope")):
        result = cockpit(root, *args)
        assert result.returncode == 2, result
        assert "unknown release type 'nope'" in result.stderr
        assert "release types: major, minor, maintenance, prerelease" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (root / ".cockpit" / "runs").exists() or not any(
        (root / ".cockpit" / "runs").iterdir()
    )


def test_semver_refuses_a_pep440_version_at_start(workspace_dir):
    result = cockpit(workspace_dir, "start", "--type", "standard", "--version", "10.0")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'10.0' is not a semantic version (versioning scheme semver" in result.stderr


async def test_start_screen_lists_the_configured_types(tmp_path):
    from screens.app import CockpitApp
    from screens.start import StartScreen

    root = team_workspace(tmp_path / "repo")
    tag(root, "production-v10.0")
    app = CockpitApp(Workspace.open(root), None, follow_interval=0.05)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "start screen")
        labels = {b.id: str(b.label) for b in app.screen.query("RadioButton")}
        assert labels == {
            "type-major": "Major — a new platform generation",
            "type-minor": "Minor",
            "type-maintenance": "Maintenance — fixes only, monthly",
            "type-prerelease": "Prerelease",
        }
        field = app.screen.query_one("#start-version")
        await until(pilot, lambda: field.value == "11.0", "next major suggested")
        app.screen.query_one("#type-prerelease").value = True
        await until(pilot, lambda: field.value == "10.1rc1", "next pre-release suggested")
        assert "(tag production-v10.0)" in str(app.screen.query_one("#start-current").render())


async def test_start_screen_keeps_the_shipped_descriptions(ws):
    from screens.app import CockpitApp
    from screens.start import StartScreen

    app = CockpitApp(ws, None, follow_interval=0.05)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "start screen")
        labels = [str(b.label) for b in app.screen.query("RadioButton")]
        assert labels == [
            "Standard — planned bi-weekly release: features, improvements, fixes",
            "Patch — bug fixes and small improvements, 1-3 days to production",
            "Hotfix — emergency fix for a Severity 1/2 incident, 2-4 hours",
            "Major — significant features or architecture, quarterly",
        ]
