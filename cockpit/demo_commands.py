"""Stand-ins for the runbook's commands in the demo: ``python -m cockpit.demo_commands TOOL ...``.

Owns what the demo's ``migrate``, ``gh``, post-deploy check, smoke tests,
monitoring and rollback commands print and how they exit, so that a newcomer sees
real subprocesses stream real lines. The post-deploy check and smoke tests really
call the simulated service's ``/api/ready``; ``gh workflow run`` really dispatches to
the demo's simulated GitHub and, as the real one, returns once the dispatch is accepted
(it follows nothing: the runbook's deploy is a ``workflow:`` command). A file
``.cockpit-demo/fail-next`` in the workspace makes the next tool (or the next workflow
run on the simulated GitHub) fail once (the demo's "make the next step fail").
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

FAIL_FLAG = Path(".cockpit-demo") / "fail-next"
GITHUB_API_VAR = "COCKPIT_DEMO_GITHUB_API"
"""The simulated GitHub's ``…/repos/OWNER/NAME`` the demo's ``gh`` dispatches to."""
MIGRATIONS = [
    "20261101_add_survey_table",
    "20261108_index_jobs_by_customer",
    "20261115_sms_templates_v2",
]


def arm_failure(workspace: Path) -> None:
    """Make the next demo command run in ``workspace`` fail once."""
    flag = workspace / FAIL_FLAG
    flag.parent.mkdir(exist_ok=True)
    flag.touch()


def say(text: str, pause: float = 0.25) -> None:
    print(text, flush=True)
    time.sleep(pause)


def maybe_fail(tool: str) -> None:
    if FAIL_FLAG.exists():
        FAIL_FLAG.unlink()
        print(
            f"{tool}: ERROR: connection to the database pool timed out (demo failure)",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(1)


def ready(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/api/ready", timeout=5) as resp:
            return resp.status, json.loads(resp.read(65536) or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return 0, {"error": str(exc)}


def migrate(args: list[str]) -> int:
    maybe_fail("migrate")
    env = args[args.index("--env") + 1] if "--env" in args else "DEV"
    if "--status" in args:
        for name in MIGRATIONS:
            say(f"  {name}  applied", 0.1)
        say(f"database {env}: up to date ({len(MIGRATIONS)} applied, 0 pending)")
        return 0
    if "--rollback" in args:
        target = args[args.index("--rollback") + 1]
        for name in reversed(MIGRATIONS[1:]):
            say(f"reverting {name} ... ok", 0.4)
        say(f"database {env} rolled back to {target}")
        return 0
    dry = "--dry-run" in args
    say(f"connecting to {env} database ... ok")
    for name in MIGRATIONS:
        say(
            f"{'would apply' if dry else 'applying'} {name} ... {'(dry run)' if dry else 'ok'}", 0.5
        )
    say("dry run complete: 3 migrations would be applied" if dry else "3 migrations applied")
    return 0


def _option(args: list[str], *names: str) -> list[str]:
    return [args[n + 1] for n, a in enumerate(args[:-1]) if a in names]


def gh(args: list[str]) -> int:
    """``gh workflow run FILE --ref REF -f NAME=VALUE``: dispatch and return, as gh does."""
    maybe_fail("gh")
    if args[:2] != ["workflow", "run"] or len(args) < 3:
        print(f"gh {' '.join(args)}: not simulated in the demo", file=sys.stderr, flush=True)
        return 1
    api, token = os.environ.get(GITHUB_API_VAR), os.environ.get("GH_TOKEN")
    if not api or not token:
        print("To get started with GitHub CLI, please run:  gh auth login", file=sys.stderr)
        return 4
    file, ref = args[2], (_option(args, "--ref", "-r") or ["main"])[-1]
    fields = dict(f.partition("=")[::2] for f in _option(args, "--field", "-f", "--raw-field"))
    request = urllib.request.Request(
        f"{api}/actions/workflows/{file}/dispatches",
        data=json.dumps({"ref": ref, "inputs": fields}).encode(),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except urllib.error.HTTPError as exc:
        print(f"could not create workflow dispatch event: HTTP {exc.code}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"error connecting to the simulated GitHub: {exc}", file=sys.stderr)
        return 1
    say(f"✓ Created workflow_dispatch event for {file} at {ref}", 0)
    say(f"\nTo see runs for this workflow, try: gh run list --workflow={file}", 0)
    return 0


def post_deploy_check(args: list[str]) -> int:
    maybe_fail("post_deploy_check")
    url = args[args.index("--url") + 1]
    failures = 0
    for n in range(1, 4):
        code, body = ready(url)
        checks = ", ".join(f"{k}={v}" for k, v in (body.get("checks") or {}).items())
        say(
            f"[{n}/3] GET {url}/api/ready -> {code or 'no answer'} {checks or body.get('error', '')}",
            0.4,
        )
        failures += code != 200
    if failures:
        print(
            f"post-deploy check FAILED: {failures}/3 probes not healthy",
            file=sys.stderr,
            flush=True,
        )
        return 2
    say("post-deploy check passed")
    return 0


def smoke(args: list[str]) -> int:
    maybe_fail("smoke")
    for case in ("login", "create customer", "schedule job", "send SMS reminder", "invoice PDF"):
        say(f"  smoke: {case} ... ok ({random.randint(80, 400)}ms)", 0.3)
    say(f"smoke tests: 5 passed against {args[0] if args else 'production'}")
    return 0


def monitoring(args: list[str]) -> int:
    maybe_fail("monitoring")
    for system in ("error tracking", "uptime checks", "log pipeline", "alert routing"):
        say(f"  {system}: operational", 0.2)
    return 0


def vercel(args: list[str]) -> int:
    maybe_fail("vercel")
    if args[:1] == ["promote"]:
        say(f"> Promoting {args[1]} to production ...", 0.8)
        say("> Success! Production now serves the previous deployment")
        return 0
    say("Age  Deployment                                        Status   Environment")
    say("12m  https://dirt-free-crm-8f3a2c-dirtfree.vercel.app    ● Ready  Production (current)")
    say("14d  https://dirt-free-crm-1b9e77-dirtfree.vercel.app    ● Ready  Production")
    say("28d  https://dirt-free-crm-4c0d51-dirtfree.vercel.app    ● Ready  Production")
    return 0


def generic(name: str):
    def tool(args: list[str]) -> int:
        maybe_fail(name)
        steps = 6 if "--duration" in args else 3
        for n in range(1, steps + 1):
            say(f"  {name}: check {n}/{steps} ok", 0.3)
        return 0

    return tool


TOOLS = {
    "migrate": migrate,
    "gh": gh,
    "post-deploy-check": post_deploy_check,
    "smoke": smoke,
    "monitoring": monitoring,
    "vercel": vercel,
    "check-deployment-health": generic("check-deployment-health"),
    "assess-database-changes": generic("assess-database-changes"),
    "data-integrity": generic("data-integrity"),
    "monitor-system-health": generic("monitor-system-health"),
}


def vars_for(python: str) -> dict[str, str]:
    """The demo config's ``vars``: every runbook command wired to a tool here."""
    base = f"{python} -m cockpit.demo_commands"
    return {
        "migrate": f"{base} migrate",
        "post_deploy_check": f"{base} post-deploy-check",
        "check_monitoring": f"{base} monitoring",
        "smoke_tests": f"{base} smoke",
        "gh": f"{base} gh",
        "vercel": f"{base} vercel",
        "check_deployment_health": f"{base} check-deployment-health",
        "assess_database_changes": f"{base} assess-database-changes",
        "data_integrity_checks": f"{base} data-integrity",
        "monitor_system_health": f"{base} monitor-system-health",
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in TOOLS:
        print(f"usage: python -m cockpit.demo_commands {{{','.join(TOOLS)}}} ...", file=sys.stderr)
        return 2
    try:
        return TOOLS[argv[0]](argv[1:])
    except KeyboardInterrupt:
        print(f"{argv[0]}: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
