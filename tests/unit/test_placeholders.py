"""Placeholders: values are shell-quoted, so a value can never inject shell syntax."""

from __future__ import annotations

import subprocess

from cockpit.placeholders import names_in, substitute


def run(command: str) -> str:
    return subprocess.run(
        ["/bin/sh", "-c", command], capture_output=True, text=True, check=True
    ).stdout


def test_argument_values_stay_one_argument(tmp_path):
    marker = tmp_path / "pwned"
    cmd = substitute("printf '[%s]' {target}", {"target": f"prod; touch {marker}"})
    assert run(cmd) == f"[prod; touch {marker}]"
    assert not marker.exists()


def test_command_position_values_are_words_but_still_quoted(tmp_path):
    marker = tmp_path / "pwned"
    cmd = substitute("{tool} --env PROD", {"tool": "printf [%s]"})
    assert run(cmd) == "[--env][PROD]"
    cmd = substitute("{tool} x", {"tool": f"echo a; touch {marker}"})
    run(cmd)
    assert not marker.exists()


def test_list_values_are_several_arguments():
    assert run(substitute("printf '<%s>' {args}", {"args": ["a b", "c"]})) == "<a b><c>"


def test_urls_concatenate_with_paths():
    assert (
        run(substitute("echo {url}/api/ready", {"url": "https://x.example"}))
        == "https://x.example/api/ready\n"
    )


def test_shell_variables_are_left_alone():
    assert names_in('vercel list --token "${VERCEL_TOKEN}" {vercel}') == ["vercel"]
