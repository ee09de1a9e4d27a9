"""The cockpit's side of a step's supervisor: what the step will run, starting it, asking it.

Owns rendering a step's commands (placeholders substituted and shell-quoted; built-in
probes with their URL), building the ``StepSpec`` a supervisor runs, launching
``python -m cockpit.supervisor`` detached (its own session, no terminal, the spec on
stdin, its first status written before it reads the spec), and the questions a cockpit
asks later: the status of a step's latest attempt, whether its supervisor is still
alive, asking it to abort, and handing a step whose supervisor died following a GitHub
workflow run to a new supervisor that re-attaches to that run. The supervisor, not the cockpit, holds the command's
output pipes, so no cockpit's death stops a command.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psutil

from cockpit.clock import iso
from cockpit.errors import CockpitError
from cockpit.events import ENDED, StepStatus
from cockpit.placeholders import PlaceholderError, fill_text, substitute
from cockpit.proctree import is_same_process, new_token
from cockpit.runbook import Command, Step
from cockpit.safefiles import open_file, private_dir
from cockpit.session import RunSession
from cockpit.supervisor import (
    ABORT_SIGNAL,
    LEAVE_SIGNAL,
    CommandSpec,
    StepLog,
    StepSpec,
    new_status,
    read_status,
    status_path,
    write_status,
)


def probe_url(session: RunSession, step: Step, env: str) -> str:
    config = session.ws.config
    if env not in config.environments:
        raise CockpitError(f"step {step.id!r}: environment {env!r} is not configured")
    return config.ready_url(env)


def step_commands(step: Step) -> list[Command]:
    """What the step's supervisor runs, in order: its ``when:`` guard first, if it has one,
    then its commands (the indices the journal and the status file use)."""
    guard = [Command(run=step.when)] if step.when else []
    return [*guard, *step.commands]


def render_commands(session: RunSession, step: Step) -> list[str]:
    """Each command of ``step`` as it will run (placeholders substituted) or the probe it is
    — the ``when:`` guard first."""
    values = session.placeholder_values()
    out = []
    for command in step_commands(step):
        if command.health is not None:
            out.append(f"probe {command.health} {probe_url(session, step, command.health)}")
            continue
        if command.workflow is not None:
            call = workflow_call(session, step, command)
            inputs = ", ".join(f"{k}={v}" for k, v in call["inputs"].items())
            out.append(
                f"workflow {call['file']} @ {call['ref']}"
                + (f" ({inputs})" if inputs else "")
                + f" on {call['repo']}"
            )
            continue
        assert command.run is not None
        try:
            out.append(substitute(command.run, values))
        except KeyError as exc:
            raise CockpitError(f"step {step.id!r}: no value for {{{exc.args[0]}}}") from None
        except PlaceholderError as exc:
            raise CockpitError(f"step {step.id!r}: {exc}") from None
    return out


def workflow_call(session: RunSession, step: Step, command: Command) -> dict[str, Any]:
    """What a ``workflow:`` command's supervisor dispatches and follows: the workflow, its
    ref and inputs (placeholders filled as plain text), the API and repository, and the
    NAME of the variable holding the token (the supervisor reads it from its environment)."""
    github = session.ws.config.github
    if github is None:
        raise CockpitError(f"step {step.id!r}: a 'workflow:' command needs 'github:' in the config")
    assert command.workflow is not None
    values = session.placeholder_values()
    return {
        "api_url": github.api_url,
        "repo": github.repo,
        "token_env": github.token_env,
        "poll": github.poll,
        "file": command.workflow.file,
        "ref": fill_text(command.workflow.ref, values),
        "inputs": {k: fill_text(v, values) for k, v in command.workflow.inputs.items()},
    }


def command_place(session: RunSession, step: Step, command: Command) -> tuple[str, dict[str, str]]:
    """Where a command runs (absolute; ``cwd:`` relative to the workspace) and the
    environment variables it gets (the step's, then the command's), placeholders filled."""
    values = session.placeholder_values()
    cwd = command.cwd or step.cwd
    root = session.ws.root
    where = str((root / fill_text(cwd, values)).resolve()) if cwd else str(root)
    env = {k: fill_text(v, values) for k, v in {**step.env, **command.env}.items()}
    return where, env


def place_words(session: RunSession, step: Step, command: Command) -> str:
    """``in services/api, NODE_ENV=production`` for a command that has a ``cwd:`` or
    ``env:`` (empty otherwise), masked as everything shown."""
    where, env = command_place(session, step, command)
    words = []
    if command.cwd or step.cwd:
        root = session.ws.root
        shown = Path(where)
        words.append(f"in {shown.relative_to(root) if shown.is_relative_to(root) else shown}")
    words += [f"{k}={v}" for k, v in env.items()]
    return session.redactor.text(", ".join(words))


def shown_commands(session: RunSession, step: Step) -> list[str]:
    """``render_commands`` as shown to people: secrets and URL credentials masked, and
    where a command runs with which variables (``  # in api, NODE_ENV=production``)."""
    out = []
    for n, (command, text) in enumerate(
        zip(step_commands(step), render_commands(session, step), strict=True)
    ):
        if n == 0 and step.when:
            out.append(f"when {session.redactor.text(text)}  # exit 0 runs the step, 1 skips it")
            continue
        place = place_words(session, step, command) if command.run is not None else ""
        out.append(session.redactor.text(text) + (f"  # {place}" if place else ""))
    return out


def build_spec(
    session: RunSession,
    phase_id: str,
    step: Step,
    rendered: list[str],
    attempt: int,
    columns: int = 120,
) -> StepSpec:
    """What the supervisor of this attempt runs, and where it writes (``columns``: the
    width a ``tty: true`` command's terminal gets, the log view's)."""
    commands = []
    for n, (command, shown) in enumerate(zip(step_commands(step), rendered, strict=True)):
        if command.health is not None:
            commands.append(
                CommandSpec(
                    shown=shown,
                    run=False,
                    env=command.health,
                    url=probe_url(session, step, command.health),
                    probe_timeout=session.ws.config.health.timeout,
                    p95_budget_ms=session.ws.config.health.p95_budget * 1000,
                    baseline_p95_ms=base.p95_ms
                    if (base := session.state.baselines.get(command.health))
                    else None,
                )
            )
        elif command.workflow is not None:
            commands.append(
                CommandSpec(
                    shown=shown,
                    run=False,
                    timeout=command.timeout,
                    allow_failure=command.allow_failure,
                    workflow=workflow_call(session, step, command),
                )
            )
        else:
            cwd, env = command_place(session, step, command)
            commands.append(
                CommandSpec(
                    shown=shown,
                    cwd=cwd,
                    environ=env,
                    place=place_words(session, step, command),
                    timeout=command.timeout,
                    allow_failure=command.allow_failure,
                    tty=step.tty if command.tty is None else command.tty,
                    columns=max(20, columns),
                    guard=n == 0 and bool(step.when),
                )
            )
    log = session.log_path(phase_id, step.id)
    return StepSpec(
        run_id=session.run_id,
        phase=phase_id,
        step=step.id,
        title=step.title,
        attempt=attempt,
        operator=session.operator,
        token=new_token(),
        cwd=str(session.ws.root),
        journal=str(session.journal_path),
        log=str(log),
        status=str(status_path(log)),
        commands=commands,
        mask=list(session.redactor.values),
        state_dir=str(session.ws.state_dir),
    )


def launch(spec: StepSpec) -> int:
    """Start the step's supervisor, detached; returns its pid once its status file exists.

    The supervisor waits for its spec on stdin, so the status written here ("starting",
    with the supervisor's pid) always comes before the supervisor's own. A log that cannot
    be used (a link, a full disk) is a ``StateFileError`` here, before anything runs.
    """
    log = Path(spec.log)
    private_dir(log.parent, spec.anchor)
    os.close(open_file(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, spec.anchor))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit.supervisor"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        cwd=spec.cwd,
    )
    try:
        create_time: float | None = psutil.Process(proc.pid).create_time()
    except psutil.Error:
        create_time = None
    assert proc.stdin is not None
    try:
        status = new_status(spec, proc.pid, create_time, "starting")
        if spec.resume:  # what the dead supervisor ran stays on record
            before = spec.resume["status"]
            status.update(started_at=before["started_at"], commands=before["commands"])
        write_status(Path(spec.status), status, spec.anchor)
        proc.stdin.write(spec.to_json())
        proc.stdin.close()
    except OSError as exc:
        proc.kill()  # it was handed nothing: nothing ran
        proc.wait()
        raise CockpitError(f"could not hand the step to its supervisor: {exc}") from None
    # reap it when it ends while we live; if we die first, init does
    threading.Thread(target=proc.wait, name=f"reap {proc.pid}", daemon=True).start()
    return proc.pid


def attempt_status(session: RunSession, phase_id: str, step_id: str) -> dict[str, Any] | None:
    """The status file of the step's latest journaled attempt (None: none, or an older one)."""
    status = read_status(status_path(session.log_path(phase_id, step_id)), session.ws.state_dir)
    attempts = session.state.step(phase_id, step_id).attempts
    if status is None or status.get("attempt") != attempts:
        return None
    return status


def supervisor_alive(status: dict[str, Any] | None) -> bool:
    """True while the status's supervisor process (same pid and start time) runs."""
    sup = (status or {}).get("supervisor") or {}
    pid = sup.get("pid")
    return bool(pid) and is_same_process(int(pid), sup.get("create_time"))


def reattachable(status: dict[str, Any] | None) -> dict[str, Any] | None:
    """The workflow run a dead supervisor was following when it stopped (its status file's
    last command: dispatched, its run id on record, not finished), or None."""
    if not status or status.get("state") in ENDED or not status.get("started_at"):
        return None
    commands = status.get("commands")
    if not isinstance(commands, list) or not commands or not isinstance(commands[-1], dict):
        return None
    last = commands[-1]
    run = last.get("workflow_run")
    if isinstance(run, bool) or not isinstance(run, int) or last.get("finished_at"):
        return None
    if last.get("index") != len(commands) - 1 or not last.get("started_at"):
        return None
    return last


def reattach_spec(
    session: RunSession, phase_id: str, step: Step, status: dict[str, Any], columns: int = 120
) -> StepSpec:
    """The spec of a supervisor that takes over an attempt whose supervisor died following
    a workflow run (``reattachable``): same attempt, log, token; the run is followed again.
    CockpitError when the step's commands are no longer those that ran (a changed runbook
    must never run a command again, nor skip the one followed)."""
    rendered = render_commands(session, step)
    spec = build_spec(session, phase_id, step, rendered, int(status["attempt"]), columns)
    ran = [str(c.get("command")) for c in status["commands"]]
    now = [session.redactor.text(c.shown) for c in spec.commands[: len(ran)]]
    last = len(ran) - 1
    if now != ran or spec.commands[last].workflow is None:
        raise CockpitError("the step's commands changed since it ran")
    spec.token = str(status.get("token") or spec.token)
    spec.resume = {"status": status}
    return spec


def ask_abort(status: dict[str, Any] | None, cancel_run: bool = True) -> bool:
    """Ask a live supervisor to abort its step; False when there is no live supervisor.
    ``cancel_run=False``: a followed GitHub workflow run is left running, not cancelled."""
    if not supervisor_alive(status):
        return False
    assert status is not None
    try:
        os.kill(int(status["supervisor"]["pid"]), ABORT_SIGNAL if cancel_run else LEAVE_SIGNAL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def close_attempt(
    session: RunSession, phase_id: str, step_id: str, state: str, reason: str, took: float
) -> None:
    """After the cockpit recorded an end no supervisor did: the status file and the step log
    say it too (a full disk is not an error here: the journal already has it)."""
    log = session.log_path(phase_id, step_id)
    status = attempt_status(session, phase_id, step_id)
    if status is not None and status.get("state") not in ENDED:
        status.update(
            state=state,
            reason=reason,
            finished_at=iso(session.clock.now()),
            duration_s=took,
            recorded_by="the cockpit (no supervisor recorded this end)",
        )
        with contextlib.suppress(OSError):
            write_status(status_path(log), status, session.ws.state_dir)
    with contextlib.suppress(OSError):
        step_log = StepLog(log, session.redactor, session.ws.state_dir)
        step_log.note(f"=== step {state}, recorded by the cockpit: {reason}")
        step_log.close()


def supervision(session: RunSession) -> dict[tuple[str, str], dict[str, Any]]:
    """Each running command step's supervisor: its pid and whether it is alive (read-only)."""
    out = {}
    for (phase_id, step_id), st in session.state.steps.items():
        if st.state != StepStatus.RUNNING or st.kind != "commands":
            continue
        status = attempt_status(session, phase_id, step_id)
        pid = ((status or {}).get("supervisor") or {}).get("pid")
        out[(phase_id, step_id)] = {"pid": pid, "alive": supervisor_alive(status)}
    return out
