"""Bad runbook and config input: every problem reported as FILE:LINE: message, never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cockpit.config import check_config, load_config, shipped_dir
from cockpit.errors import SourceError
from cockpit.runbook import check_runbook, phase_files
from tests.helpers import cockpit_cmd

CONFIG = load_config(shipped_dir() / "cockpit.yaml")

GOOD = """\
id: alpha
title: Alpha
sections:
  - title: Checks
    items:
      - text: First thing
      - Second thing
steps:
  - id: go
    title: Go
    budget: 15m
    commands:
      - run: "{migrate} --env PROD"
      - health: staging
"""


def errors_for(tmp_path: Path, files: dict[str, str | bytes]) -> list[SourceError]:
    for name, content in files.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    _, errors = check_runbook(phase_files(tmp_path), CONFIG)
    return sorted(errors)


def only(errors: list[SourceError]) -> tuple[int, str]:
    assert len(errors) == 1, errors
    return errors[0].line, errors[0].message


def test_good_phase_has_no_errors(tmp_path):
    assert errors_for(tmp_path, {"alpha.yaml": GOOD}) == []


def test_yaml_syntax_error_has_its_line(tmp_path):
    bad = GOOD.replace("    title: Go", "    title: [Go")
    line, message = only(errors_for(tmp_path, {"alpha.yaml": bad}))
    assert message.startswith("YAML syntax")
    assert line in (10, 11)


def test_tab_in_indentation(tmp_path):
    bad = GOOD.replace("      - Second thing", "\t- Second thing")
    assert only(errors_for(tmp_path, {"alpha.yaml": bad})) == (
        7,
        "tab in indentation: YAML indents with spaces",
    )


def test_empty_and_comment_only_files(tmp_path):
    errors = errors_for(tmp_path, {"a.yaml": "", "b.yaml": "# nothing\n\n"})
    assert [(e.line, e.message) for e in errors] == [
        (1, "the file is empty; expected a mapping")
    ] * 2


def test_control_character(tmp_path):
    errors = errors_for(tmp_path, {"a.yaml": "id: a\ntitle: \x01bad\n"})
    assert only(errors) == (
        2,
        "not YAML text: character #x0001 (control characters are not allowed)",
    )


def test_binary_file(tmp_path):
    errors = errors_for(tmp_path, {"a.yaml": b"\x89PNG\r\n\x1a\n\x00\x00binary"})
    assert "binary file" in only(errors)[1]


def test_unknown_key_names_key_and_line(tmp_path):
    bad = GOOD.replace("    budget: 15m", "    budget: 15m\n    budgett: 20m")
    assert only(errors_for(tmp_path, {"alpha.yaml": bad})) == (
        12,
        "unknown key 'budgett' in steps[0]",
    )


def test_wrong_type(tmp_path):
    bad = GOOD.replace(
        "      - text: First thing", "      - text: First thing\n        note_required: maybe"
    )
    line, message = only(errors_for(tmp_path, {"alpha.yaml": bad}))
    assert line == 7
    assert message == "sections[0].items[0].note_required: expected true or false, got 'maybe'"


def test_missing_title(tmp_path):
    bad = GOOD.replace("  - title: Checks\n", "  - items_title: Checks\n")
    errors = errors_for(tmp_path, {"alpha.yaml": bad})
    messages = {(e.line, e.message) for e in errors}
    assert (4, "missing required key 'title' in sections[0]") in messages


def test_duplicate_item_id(tmp_path):
    bad = GOOD.replace(
        "      - Second thing", "      - Second thing\n      - {text: Other, id: first-thing}"
    )
    assert only(errors_for(tmp_path, {"alpha.yaml": bad})) == (
        8,
        "duplicate item id 'first-thing' (first at line 6)",
    )


def test_duplicate_key_in_mapping(tmp_path):
    bad = GOOD.replace("title: Alpha\n", "title: Alpha\ntitle: Beta\n")
    assert only(errors_for(tmp_path, {"alpha.yaml": bad})) == (3, "duplicate key 'title'")


def test_id_that_is_not_text(tmp_path):
    bad = GOOD.replace("id: alpha", "id:")
    line, message = only(errors_for(tmp_path, {"alpha.yaml": bad}))
    assert (line, message) == (1, "id: id must be text like staging-healthy, got None")


def test_bad_duration(tmp_path):
    bad = GOOD.replace("budget: 15m", "budget: fifteen minutes")
    line, message = only(errors_for(tmp_path, {"alpha.yaml": bad}))
    assert line == 11
    assert "bad duration 'fifteen minutes'" in message


def test_unknown_placeholder(tmp_path):
    bad = GOOD.replace("{migrate} --env PROD", "{migrate} --env {enviroment}")
    line, message = only(errors_for(tmp_path, {"alpha.yaml": bad}))
    assert line == 13
    assert message.startswith("unknown placeholder {enviroment}")


def test_shell_variables_are_not_placeholders(tmp_path):
    ok = GOOD.replace('"{migrate} --env PROD"', "'{migrate} --token \"${VERCEL_TOKEN}\"'")
    assert errors_for(tmp_path, {"alpha.yaml": ok}) == []


def test_unknown_environment(tmp_path):
    bad = GOOD.replace("health: staging", "health: qa")
    line, message = only(errors_for(tmp_path, {"alpha.yaml": bad}))
    assert line == 14 and message.startswith("unknown environment 'qa'")


def test_unknown_phase_in_after(tmp_path):
    bad = GOOD.replace("title: Alpha\n", "title: Alpha\nafter: [pre-flight]\n")
    assert only(errors_for(tmp_path, {"alpha.yaml": bad})) == (
        3,
        "'after' names unknown phase 'pre-flight'",
    )


def test_cycle_in_after(tmp_path):
    a = GOOD.replace("title: Alpha\n", "title: Alpha\nafter: [beta]\n")
    b = GOOD.replace("id: alpha", "id: beta").replace(
        "title: Alpha\n", "title: Beta\nafter: [alpha]\n"
    )
    errors = errors_for(tmp_path, {"a.yaml": a, "b.yaml": b})
    assert len(errors) == 2
    assert all(e.line == 3 and e.message.startswith("cycle in 'after'") for e in errors)
    assert {e.file.rsplit("/", 1)[-1] for e in errors} == {"a.yaml", "b.yaml"}


def test_duplicate_phase_id_across_files(tmp_path):
    errors = errors_for(tmp_path, {"a.yaml": GOOD, "b.yaml": GOOD})
    assert only(errors)[1].startswith("duplicate phase id 'alpha'")


def test_all_errors_in_one_pass(tmp_path):
    bad = (
        GOOD.replace("budget: 15m", "budget: soon")
        .replace("health: staging", "health: qa")
        .replace("title: Alpha\n", "title: Alpha\ncolour: red\n")
    )
    errors = errors_for(tmp_path, {"alpha.yaml": bad, "z.yaml": "id: [\n"})
    assert len(errors) >= 3
    assert {e.file.rsplit("/", 1)[-1] for e in errors} == {"alpha.yaml", "z.yaml"}


def test_config_errors_have_lines(tmp_path):
    path = tmp_path / "cockpit.yaml"
    path.write_text(
        "environments:\n"
        "  staging: {url: ftp://nope}\n"
        "health:\n"
        "  timeout: three seconds\n"
        "  colour: blue\n"
        "secrets: [NOT A NAME]\n"
    )
    _, errors = check_config(path)
    lines = sorted((e.line, e.message.split(":")[0]) for e in errors)
    assert [line for line, _ in lines] == [2, 4, 5, 6]


@pytest.mark.parametrize("content", ["", "- just\n- a list\n", "url: [\n"])
def test_config_never_raises(tmp_path, content):
    path = tmp_path / "cockpit.yaml"
    path.write_text(content)
    config, errors = check_config(path)
    assert config is None and errors


def test_cli_validate_reports_every_error_and_exits_2(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD.replace("budget: 15m", "budget: fifteen minutes"))
    (tmp_path / "b.yaml").write_text("title: B\nsections:\n\t- title: x\n")
    result = subprocess.run(
        cockpit_cmd("validate", str(tmp_path)), capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ".yaml:" in ln]
    assert any(
        ln.startswith(f"{tmp_path}/a.yaml:11: ") or ln.startswith("a.yaml:11: ") for ln in lines
    )
    assert any(":3: tab in indentation" in ln for ln in lines)


def test_cli_validate_shipped_runbook_ok(tmp_path):
    result = subprocess.run(cockpit_cmd("validate"), capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 12 phases")


def test_cli_validate_single_file_checks_siblings(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    b = GOOD.replace("id: alpha", "id: beta").replace(
        "title: Alpha\n", "title: Beta\nafter: [alpha]\n"
    )
    (tmp_path / "b.yaml").write_text(b)
    result = subprocess.run(
        cockpit_cmd("validate", str(tmp_path / "b.yaml")),
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr


def test_placeholder_problems_come_with_structural_errors_in_one_run(tmp_path):
    bad = GOOD.replace("    budget: 15m\n", "    budget: 15m\n    colour: red\n").replace(
        '"{migrate} --env PROD"', "\"curl -w '%{http_code}' ${X:-{migrate}}\""
    )
    messages = [e.message for e in errors_for(tmp_path, {"alpha.yaml": bad})]
    assert any("colour" in m for m in messages), messages
    assert any(
        "unknown placeholder {http_code}" in m and "write {{http_code}}" in m for m in messages
    ), messages
    assert any("{migrate}: a placeholder inside ${…} cannot be quoted" in m for m in messages)


def test_double_braces_validate(tmp_path):
    good = GOOD.replace('"{migrate} --env PROD"', "\"curl -w '%{{http_code}}' {staging_url}\"")
    assert errors_for(tmp_path, {"alpha.yaml": good}) == []
