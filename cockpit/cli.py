"""The ``cockpit`` command line (DESIGN.md "CLI contract").

Owns parsing arguments, turning every input problem into ``FILE:LINE: message``
and exit 2 (never a traceback: anything unexpected is one line in words and exit 2, the
traceback only with ``--debug``), and dispatching to the core. Textual is imported
only by the commands that open the app, so ``cockpit --version`` and the
scripting commands start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cockpit import __version__
from cockpit.errors import CockpitError, InputErrors, error_words
from cockpit.termtext import inert

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ABORTED = 0, 1, 2, 3
TYPE_HELP = (
    "a release type of the config's release_types (shipped: standard, major, patch, hotfix); "
    "checked once the config is read"
)


def _globals() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--workspace",
        type=Path,
        default=argparse.SUPPRESS,
        help="the repository being released (default: the current directory)",
    )
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: WORKSPACE/cockpit.yaml, else the shipped one)",
    )
    common.add_argument(
        "--runbook",
        type=Path,
        default=argparse.SUPPRESS,
        help="runbook folder (default: config 'runbook:', else the shipped checklists)",
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of an unexpected error instead of one line in words",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _globals()
    parser = argparse.ArgumentParser(
        prog="cockpit",
        parents=[common],
        description="Drive a production release by the team's runbook.",
    )
    parser.add_argument("--version", action="version", version=f"cockpit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_, description=help_)

    p = add("demo", "a self-contained demo in a sandbox workspace")
    p.add_argument(
        "--headless",
        action="store_true",
        help="drive a whole standard release end to end without a terminal UI",
    )
    p.add_argument(
        "--clean",
        action="store_true",
        help="remove the folders the demo made in the temp folder ($TMPDIR), or the demo "
        "workspace --workspace names; one in use is left, saying why",
    )
    p = add("validate", "check runbook and config files; exit 2 listing every error")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument(
        "--against",
        type=Path,
        metavar="RUNBOOK.md",
        help="also check that every checklist line (- [ ]) of this markdown runbook has an "
        "item in the runbook: exit 1 listing each line that has none (2 stays for invalid "
        "files, 0 when every line is there)",
    )
    p = add(
        "import",
        "turn a markdown runbook into a runbook folder of phase files (never writes over files)",
    )
    p.add_argument("path", type=Path, metavar="RUNBOOK.md")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("runbook"),
        metavar="DIR",
        help="the folder to write, new or empty (default: ./runbook)",
    )
    p = add("start", "start a run")
    p.add_argument("--type", required=True, metavar="TYPE", dest="release_type", help=TYPE_HELP)
    p.add_argument(
        "--version",
        dest="release_version",
        metavar="VERSION",
        help="X.Y.Z (semver) or 10.0 / 10.1rc1 (versioning scheme pep440); "
        "default: the next version from the production tags",
    )
    add("runs", "list runs and their state")
    p = add("status", "a run's phases, items and steps")
    p.add_argument("--run", metavar="ID")
    p.add_argument("--json", action="store_true")
    p = add("health", "probe the ready endpoints; exit 0 only if all are READY")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=URL",
        dest="envs",
        help="probe this environment instead of the configured ones (repeatable)",
    )
    p.add_argument(
        "--count", type=int, default=1, metavar="N", help="probe N times, health.interval apart"
    )
    p.add_argument("--json", action="store_true")
    p = add("check", "tick an item from a script (a CI job ticks its gate)")
    p.add_argument("phase")
    p.add_argument("item")
    p.add_argument("--run", metavar="ID")
    p.add_argument("--note", metavar="TEXT")
    p.add_argument("--undo", action="store_true", help="untick instead")
    p.add_argument(
        "--answer",
        choices=("yes", "no", "unknown"),
        help="a question's answer (an `answer: yes-no` item); give the why with --note",
    )
    p.add_argument(
        "--as",
        dest="signer",
        metavar="NAME",
        help="a sign-off (an item with a role): who signed it (default: you, the operator)",
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="tick a self-verifying item by hand (needs --note saying why)",
    )
    p = add("override", "open a locked phase before the phases it waits on are complete")
    p.add_argument("phase")
    p.add_argument("--reason", required=True, metavar="TEXT", help="why (journaled, reported)")
    p.add_argument("--run", metavar="ID")
    p = add("run", "execute a phase's steps; exit 0 done, 1 a step failed, 3 aborted")
    p.add_argument("phase")
    p.add_argument("--run", metavar="ID")
    p.add_argument("--headless", action="store_true", help="no TUI: stream to stdout")
    p.add_argument(
        "--dry-run", action="store_true", help="show every command substituted, run nothing"
    )
    p.add_argument("--yes", action="store_true", help="confirm every 'confirm:' step")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        dest="presets",
        help="headless: the pick for what a step's output offers (offers:), e.g. "
        "--set rollback_target=https://app-1b9e77.vercel.app",
    )
    p.add_argument(
        "--from", dest="start_from", metavar="STEP", help="start at this step (later ones follow)"
    )
    p.add_argument(
        "--out-of-order",
        metavar="REASON",
        help="run a step although earlier ones are failed or not done (journaled)",
    )
    p = add("close", "close a run: it stops being the active one (nothing is deleted)")
    p.add_argument("--run", metavar="ID")
    p.add_argument("--note", metavar="TEXT")
    p = add(
        "history",
        "every release in the workspace: success metrics against targets, bottlenecks, DORA keys",
    )
    p.add_argument("--since", metavar="DATE", help="runs started on or after DATE (YYYY-MM-DD)")
    p.add_argument("--json", action="store_true", help="the history as JSON (shape: README)")
    p.add_argument(
        "--export", metavar="DIR", type=Path, help="also write one report JSON per run into DIR"
    )
    p = add("report", "the release report: timeline, checklists, steps, health, decisions")
    p.add_argument("--run", metavar="ID")
    p.add_argument("--format", choices=("md", "json"), default="md")
    p = add("watch", "read-only live view of a run driven elsewhere")
    p.add_argument("--run", metavar="ID")
    p.add_argument(
        "--no-follow",
        action="store_true",
        help="do not follow the driver's screen (following is on by default; F turns it on)",
    )
    p = add("serve", "serve the read-only watch to browsers (one `cockpit watch` per viewer)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; one that is not loopback needs --public)",
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--run", metavar="ID", help="watch this run (default: the active one)")
    p.add_argument(
        "--max-viewers",
        type=int,
        default=20,
        metavar="N",
        help="viewers at once (default 20; each one is a `cockpit watch` process)",
    )
    p.add_argument(
        "--public",
        action="store_true",
        help="allow a --host that is not loopback: the run is served to the network",
    )
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL browsers reach the server at, behind a reverse proxy "
        "(e.g. https://cockpit.example.com)",
    )
    p = add("version", "release versions from the production tags")
    vsub = p.add_subparsers(dest="version_command", metavar="next", required=True)
    vn = vsub.add_parser("next", parents=[common], help="the next version of a release type")
    vn.add_argument("--type", required=True, metavar="TYPE", dest="release_type", help=TYPE_HELP)
    return parser


def _workspace(args: argparse.Namespace):
    from cockpit.workspace import Workspace

    root = getattr(args, "workspace", None) or Path.cwd()
    if not root.is_dir():
        raise CockpitError(f"workspace {root} is not a folder")
    return Workspace.open(root, getattr(args, "config", None), getattr(args, "runbook", None))


def _session(args: argparse.Namespace):
    from cockpit.session import RunSession

    ws = _workspace(args)
    warnings: list[str] = []
    run_id = getattr(args, "run", None) or ws.active_run_id(warnings)
    for warning in warnings:  # a run left out (a link, an unreadable journal) is said
        print(f"warning: {warning}", file=sys.stderr)
    if run_id is None:
        start = _start_hint(ws)
        if warnings:
            raise CockpitError(
                f"no active run that can be read (see the warning above); {start} starts a new one"
            )
        raise CockpitError(f"no active run: start one with {start}")
    return RunSession(ws, run_id)


def _start_hint(ws) -> str:
    """```cockpit start --type T``` with the workspace's first release type."""
    return f"`cockpit start --type {ws.config.release_type_names()[0]}`"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cmd_validate(args: argparse.Namespace) -> int:
    from cockpit.validate import validate_paths

    against = getattr(args, "against", None)
    if against is not None:  # an unreadable markdown file is said before anything else
        from cockpit.mdimport import read_markdown

        read_markdown(against)
    root = getattr(args, "workspace", None) or Path.cwd()
    report = validate_paths(
        args.paths, root, getattr(args, "config", None), getattr(args, "runbook", None)
    )
    for error in report.errors:
        print(error, file=sys.stderr)
    if report.errors:
        print(f"{len(report.errors)} error(s)", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"ok: {_plural(report.phases, 'phase')}, {_plural(report.items, 'item')}, "
        f"{_plural(report.steps, 'step')}"
        + (f", {report.configs} config" if report.configs else "")
    )
    if against is None:
        return EXIT_OK
    from cockpit.errors import display_path
    from cockpit.mdimport import drift, runbooks_for

    runbooks = runbooks_for(
        args.paths, root, getattr(args, "config", None), getattr(args, "runbook", None)
    )
    name = display_path(against)
    missing = drift(against, runbooks)
    for line, text in missing:
        print(f"{name}:{line}: not in the runbook: {inert(text)}", file=sys.stderr)
    if missing:
        print(f"{len(missing)} checklist line(s) of {name} not in the runbook", file=sys.stderr)
        return EXIT_FAILED
    print(f"ok: every checklist line of {name} is in the runbook")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from cockpit.errors import display_path
    from cockpit.mdimport import import_markdown

    summary = import_markdown(args.path, args.out)
    folder = display_path(summary.folder)
    counts = [(summary.phases, "phase"), (summary.items, "item"), (summary.steps, "step")]
    said = ", ".join(_plural(n, word) for n, word in counts)
    commands = _plural(summary.commands, "command")
    print(f"imported {summary.source} → {folder}: {said} ({commands})")
    if summary.unplaced:
        print(f"not placed as items or steps ({len(summary.unplaced)}):")
        for line in summary.lines():
            print(f"  {inert(line)}")
    print(f"next: cockpit validate --runbook {folder}")
    return EXIT_OK


def cmd_start(args: argparse.Namespace) -> int:
    from cockpit.session import RunSession

    ws = _workspace(args)
    ws.config.check_release_type(args.release_type)  # argparse cannot know the config's
    before = ws.active_run_id()
    session = RunSession.start(ws, args.release_type, args.release_version)
    run = session.state.run
    assert run is not None
    print(f"started {run.id}: {run.type} release {run.version} by {run.operator}")
    if run.previous_version:
        print(f"production is at {run.previous_version}")
    if before:
        print(f"note: run {before} is still open; reach it with --run {before}")
    session.close()
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    from cockpit.lock import RunLock

    ws = _workspace(args)
    warnings: list[str] = []
    runs = ws.list_runs(warnings)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not runs:
        print(f"no runs yet: start one with {_start_hint(ws)}")
        return EXIT_OK
    active = ws.active_run_id()
    tw = max(9, *(len(r.type) for r in runs))
    vw = max(9, *(len(r.version) for r in runs))
    print(f"{'RUN':<40} {'TYPE':<{tw}} {'VERSION':<{vw}} {'OPERATOR':<16} {'STARTED':<20} STATE")
    for r in runs:
        lock = RunLock(ws.run_dir(r.id) / "lock")
        state = "closed" if r.closed else ("driven" if lock.is_held_elsewhere() else "open")
        if r.id == active:
            state += " (active)"
        print(
            f"{r.id:<40} {r.type:<{tw}} {r.version:<{vw}} {r.operator:<16} "
            f"{r.started_at[:19]:<20} {state}"
        )
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from cockpit.runner import supervision

    session = _session(args)
    doc = session.status()
    live = supervision(session)
    for phase in doc["phases"]:
        for step in phase["steps"]:
            if (phase["id"], step["id"]) in live:
                step["supervisor"] = live[(phase["id"], step["id"])]
    for warning in session.state.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    run = doc["run"]
    print(
        f"run {run['id']}  {run['type']} {run['version']}  operator {run['operator']}  "
        f"started {run['started_at'][:19]}"
    )
    if doc["rollback_criteria_met"]:
        texts = {i["id"]: i["text"] for p in doc["phases"] for i in p["items"] if i["criterion"]}
        met = [texts.get(c, c) for c in doc["rollback_criteria_met"]]
        print("ROLLBACK CRITERIA MET: " + "; ".join(met))
    for d in session.state.decisions[-1:]:
        from cockpit.describe import decision_words

        print(
            f"DECISION: {decision_words(d.choice).upper()} by {d.commander} at {d.ts[11:19]} UTC: {d.rationale}"
        )
    for line in _status_facts(doc):
        print(line)
    for phase in doc["phases"]:
        mark = "done" if phase["complete"] else ("LOCKED" if phase["locked"] else "open")
        extra = f"  waiting on {', '.join(phase['waiting_on'])}" if phase["locked"] else ""
        n = phase["progress"]
        print(f"  {phase['id']:<22} {n['done']:>3}/{n['total']:<3} {n['of']:<5} {mark}{extra}")
        for step in phase["steps"]:
            if step["attempts"] or step["state"] != "pending":
                why = f" — {step['reason']}" if step.get("reason") else ""
                sup = step.get("supervisor")
                if sup and sup["alive"]:
                    why = f" (supervisor pid {sup['pid']})"
                elif sup:
                    why = " — its supervisor is gone: the next cockpit that drives records how it ended"
                print(f"      step {step['id']:<28} {step['state']}{why}")
    return EXIT_OK


def _status_facts(doc: dict[str, Any]) -> list[str]:
    """``status``'s lines for the driver, the deployment time and health, in words."""
    lines = []
    driver = doc.get("driver")
    if driver:
        who = f"{driver['operator']} (pid {driver['pid']} on {driver['host']})"
        if driver["alive"]:
            lines.append(f"driven by {who} since {(driver['since'] or '')[11:16]} UTC")
        else:
            lines.append(f"not driven: {who} stopped driving ({driver['why']})")
    deployment = doc.get("deployment")
    if deployment and deployment["wall_clock_s"] is not None:
        lines.append(deployment["words"] + (" · RUNNING" if deployment["running"] else ""))
    health = [
        f"{env} {h['state']}" + (f" (p95 {h['p95_ms']:.0f}ms)" if h["p95_ms"] is not None else "")
        for env, h in (doc.get("health") or {}).items()
        if h["state"]
    ]
    if health:
        lines.append("health (last journaled): " + " · ".join(health))
    return lines


def cmd_check(args: argparse.Namespace) -> int:
    if args.undo and args.signer:
        raise CockpitError("--as says who signed a tick; it does not go with --undo")
    session = _session(args)
    try:
        if args.undo:
            session.uncheck(args.phase, args.item, args.note)
            print(f"unticked {args.phase}/{args.item}")
            return EXIT_OK
        from cockpit.verify import auto_of, verify_item

        if auto_of(session, args.phase, args.item) and not args.no_verify:
            import asyncio

            result = asyncio.run(verify_item(session, args.phase, args.item, args.note))
            session.write(result.intent)
            if not result.ok:
                print(
                    f"not verified: {inert(result.reason)} ({inert(result.where)}); "
                    "the item stays unticked",
                    file=sys.stderr,
                )
                return EXIT_FAILED
            print(f"verified and ticked {args.phase}/{args.item}: {inert(result.said)}")
            return EXIT_OK
        if args.no_verify and not (args.note or "").strip():
            raise CockpitError("--no-verify needs --note saying why the item is ticked by hand")
        session.check(args.phase, args.item, args.note, signer=args.signer, answer=args.answer)
        signed = session.state.item(args.phase, args.item).signed_by
        if args.answer:
            print(f"answered {args.phase}/{args.item}: {args.answer.upper()} as {session.operator}")
        elif signed:
            print(
                f"ticked {args.phase}/{args.item}: signed by {signed}, recorded by {session.operator}"
            )
        else:
            print(f"ticked {args.phase}/{args.item} as {session.operator}")
        return EXIT_OK
    finally:
        session.close()


def _presets(pairs: list[str]) -> dict[str, str]:
    """``--set NAME=VALUE`` pairs; a malformed one is an error naming it."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CockpitError(f"--set {pair!r}: write it as NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def cmd_override(args: argparse.Namespace) -> int:
    session = _session(args)
    try:
        waiting = session.progress(args.phase).waiting_on
        session.override(args.phase, args.reason)
        print(
            f"opened {args.phase} early as {session.operator} "
            f"(it waited on {', '.join(waiting)}): {args.reason.strip()}"
        )
        return EXIT_OK
    finally:
        session.close()


def cmd_run(args: argparse.Namespace) -> int:
    from cockpit.headless import run_headless

    session = _session(args)
    try:
        if args.headless or args.dry_run:
            return run_headless(
                session,
                args.phase,
                args.yes,
                args.dry_run,
                args.start_from,
                args.out_of_order,
                _presets(args.presets),
            )
    finally:
        session.close()
    session.runbook.phase(args.phase)  # an unknown phase: the phases, in words
    _need_terminal()
    from screens.app import run_app

    return run_app(session.ws, session.run_id, open_phase=args.phase)


def cmd_close(args: argparse.Namespace) -> int:
    session = _session(args)
    try:
        if session.lock.is_held_elsewhere():
            holder = session.lock.read()
            raise CockpitError(
                f"run {session.run_id} is being driven by "
                f"{holder.describe() if holder else 'another process'}"
            )
        session.write(session.plan_close(args.note))
        print(f"closed {session.run_id}")
    finally:
        session.close()
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from cockpit.report import build, markdown

    session = _session(args)
    doc = build(session)
    for warning in doc["journal_warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        json.dumps(doc, indent=2, ensure_ascii=False) if args.format == "json" else markdown(doc),
        end="",
    )
    if args.format == "json":
        print()
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from datetime import date

    from cockpit.clock import Clock
    from cockpit.review import export, history, text

    since = None
    if args.since is not None:
        try:
            since = date.fromisoformat(args.since)
        except ValueError as exc:
            raise CockpitError(f"--since {args.since!r}: {exc}; a date like 2026-11-01") from None
    doc, _ = history(_workspace(args), Clock().now(), since)
    if args.export:
        written = export(_workspace(args), doc, args.export)
        print(f"exported {len(written)} report(s) to {args.export}", file=sys.stderr)
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(text(doc), end="")
    return EXIT_OK


def cmd_health(args: argparse.Namespace) -> int:
    from cockpit.config import find_config, load_config
    from cockpit.probe_cli import run_health

    root = getattr(args, "workspace", None) or Path.cwd()
    config = load_config(find_config(root, getattr(args, "config", None)))
    return run_health(config, args.envs, args.count, args.json)


def cmd_version(args: argparse.Namespace) -> int:
    from cockpit.config import find_config, load_config
    from cockpit.versions import current_version

    root = getattr(args, "workspace", None) or Path.cwd()
    config = load_config(find_config(root, getattr(args, "config", None)))
    config.check_release_type(args.release_type)
    rules = config.versioning_rules()
    current = current_version(root, rules)
    print(rules.after(current, args.release_type))
    if current is None:
        print(
            f"note: no {rules.tag_shape()} tag yet; counting from {rules.zero()}", file=sys.stderr
        )
    return EXIT_OK


TEXTUAL_WEB_DRIVER = "textual.drivers.web_driver:WebDriver"
"""The driver textual-serve sets in ``TEXTUAL_DRIVER`` for the processes it serves."""


def _need_terminal(served: bool = False) -> None:
    """The app draws a screen: refuse in words when stdin or stdout is not a terminal (a
    pipe, a file, a CI job) rather than write escape sequences into it. ``served``: the
    read-only watch, which ``cockpit serve`` runs under Textual's web driver (its pipes
    carry the driver's packets to the browser) — allowed then, and only then."""
    if served and os.environ.get("TEXTUAL_DRIVER") == TEXTUAL_WEB_DRIVER:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CockpitError(
            "the cockpit's screen needs a terminal, and this is not one: run it in a terminal, "
            "or use `cockpit run PHASE --headless`, `cockpit status` or `cockpit demo --headless`"
        )


def cmd_tui(args: argparse.Namespace, read_only: bool = False) -> int:
    from cockpit.lock import LockHeld

    ws = _workspace(args)
    if not read_only:  # a demo's workspace without its simulated systems: all would be DOWN
        from cockpit.demo_workspace import stopped_demo

        if stopped := stopped_demo(ws.root):
            raise CockpitError(stopped)
    run_id = getattr(args, "run", None) or ws.active_run_id()
    if getattr(args, "run", None):
        from cockpit.session import RunSession

        RunSession(ws, run_id).close()  # an unknown run: the known ones, in words
    _need_terminal(served=read_only)
    from screens.app import run_app  # Textual only now

    try:
        follow = not getattr(args, "no_follow", False)
        return run_app(ws, run_id, read_only=read_only, follow_driver=follow)
    except LockHeld as exc:
        print(f"cockpit: {exc}.", file=sys.stderr)
        if not sys.stdin.isatty():
            print("Watch it read-only with `cockpit watch`.", file=sys.stderr)
            return EXIT_USAGE
        answer = input("Watch it read-only instead? [Y/n] ").strip().lower()
        if answer in ("", "y", "yes"):
            return run_app(ws, run_id, read_only=True)
        return EXIT_USAGE


def cmd_serve(args: argparse.Namespace) -> int:
    """``cockpit serve``: the read-only watch to browsers (``screens/serve.py``)."""
    from screens.serve import WatchServer, check_host  # the web front end only now

    warning = check_host(args.host, args.public)  # refused before anything is opened
    ws = _workspace(args)
    if args.run:
        from cockpit.session import RunSession

        RunSession(ws, args.run).close()  # an unknown run: the known ones, in words
        watched = f"run {args.run}"
    else:
        active = ws.active_run_id()
        watched = f"the active run, now {active}" if active else "no run yet: viewers wait for one"
    server = WatchServer(
        ws.root,
        run_id=args.run,
        host=args.host,
        port=args.port,
        max_viewers=args.max_viewers,
        public_url=args.public_url,
        config=getattr(args, "config", None),
        runbook=getattr(args, "runbook", None),
    )
    server.serve(
        lines=[f"cockpit serve: the read-only watch of {ws.root}: {watched}"], warning=warning
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from cockpit.demo_sandbox import MAIL_DIR, abort_left_running, demo_github
    from cockpit.demo_workspace import check_target, open_demo, reopen_command
    from cockpit.session import RunSession
    from cockpit.simmail import SimMail
    from cockpit.simservice import SimService
    from cockpit.workspace import Workspace

    target = getattr(args, "workspace", None)
    if args.clean:
        return _demo_clean(target, args.headless)
    if not args.headless:
        _need_terminal()  # before a sandbox is made for nothing
    if target is not None:
        check_target(target)  # a folder not the demo's is refused before anything starts
    mail = SimMail()  # its folder is set in the sandbox
    with SimService() as service, demo_github() as github, mail:
        root, reopened = open_demo(target, service, github, mail)
        ws = Workspace.open(root)
        run_id = ws.active_run_id() if reopened else None
        session = RunSession(ws, run_id) if run_id else RunSession.start(ws, "standard")
        if reopened:
            kept = f"run {run_id} continues" if run_id else "a new run started"
            print(f"demo workspace: {root} (reopened with fresh simulated systems; {kept})")
        else:
            print(f"demo workspace: {root}")
        print(
            f"simulated GitHub: {github.api_url} (dirt-free/crm; the deploy workflow "
            f"runs {github.duration:g}s)"
        )
        print(f"simulated mail relay: {mail.host}:{mail.port} (keeps mail in {root / MAIL_DIR})")
        if args.headless:
            from cockpit.demo_headless import run_demo_headless

            try:
                code = run_demo_headless(session)
            finally:
                session.close()
        else:
            session.close()
            from screens.app import run_app

            code = run_app(ws, ws.active_run_id(), demo=service)
            for words in abort_left_running(Workspace.open(root), ws.active_run_id()):
                print(f"the demo's simulated systems stop with it: {words}")
    print(
        f"the demo's workspace stays at {root}: `{reopen_command(root)}` reopens it with its "
        "simulated systems, `cockpit demo --clean` removes the demo's folders"
    )
    return code


def _demo_clean(target: Path | None, headless: bool) -> int:
    """``cockpit demo --clean``: the demo's folders in the temp folder (or ``target``) gone."""
    from cockpit.demo_workspace import clean, remove, temp_folder

    if headless:
        raise CockpitError("--clean removes the demo's folders; it does not go with --headless")
    if target is not None:
        why = remove(Path(os.path.abspath(target)))
        if why is not None:
            raise CockpitError(f"{target} is left as it is: {why}")
        print(f"removed {target}")
        return EXIT_OK
    parent = temp_folder()
    removed, left = clean(parent)
    for folder in removed:
        print(f"removed {folder}")
    for folder, why in left:
        print(f"left {folder}: {why}")
    print(f"{_plural(len(removed), 'demo folder')} removed from {parent}")
    return EXIT_FAILED if any(why.startswith("could not") for _, why in left) else EXIT_OK


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: cmd_tui,
    "demo": cmd_demo,
    "validate": cmd_validate,
    "import": cmd_import,
    "override": cmd_override,
    "start": cmd_start,
    "runs": cmd_runs,
    "status": cmd_status,
    "check": cmd_check,
    "health": cmd_health,
    "run": cmd_run,
    "report": cmd_report,
    "history": cmd_history,
    "close": cmd_close,
    "version": cmd_version,
    "watch": lambda a: cmd_tui(a, read_only=True),
    "serve": cmd_serve,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except InputErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return EXIT_USAGE
    except CockpitError as exc:
        if getattr(args, "debug", False):  # where a refusal came from, for a bug report
            traceback.print_exc()
        print(f"cockpit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_ABORTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:  # the last resort: one line in words, never a traceback
        if getattr(args, "debug", False):
            raise
        print(
            f"cockpit: unexpected error: {error_words(exc)} (--debug shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
