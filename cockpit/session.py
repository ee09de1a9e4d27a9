"""Driving (or reading) one run: the intents every surface sends, checked against the runbook.

Owns ``RunSession``: starting a run, following its journal into ``RunState``, the
driver lock (with a journaled takeover of a stale one), and the operator's
intents — tick, untick, note, override a locked phase, close — each validated
(phase and item exist and apply to the run's release type, the phase is not
locked, a required note is there) and written to the journal before it counts.
The state only changes by reading the journal back, so the driver, a script
ticking a gate, and a watcher all see the same thing.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from cockpit.changelog import production_tag_commit
from cockpit.clock import Clock, local_hms
from cockpit.errors import CockpitError
from cockpit.events import (
    FINISHED,
    BaselineTaken,
    BranchCreated,
    DecisionRecorded,
    Event,
    HealthChanged,
    HealthSampled,
    ItemChecked,
    ItemNoted,
    ItemUnchecked,
    LockAcquired,
    LockReleased,
    LockTakenOver,
    PhaseUnlocked,
    RollbackTargetSet,
    RunClosed,
    RunStarted,
    StepFinished,
    StepSkipped,
    StepStarted,
    StepStatus,
    ValueChosen,
    VerificationFailed,
    WindowEnded,
    WindowStarted,
    parse,
)
from cockpit.facts import run_facts
from cockpit.journal import Batch, Journal, JournalFollower
from cockpit.lock import Holder, RunLock
from cockpit.placeholders import fill_text
from cockpit.progress import PhaseProgress, criteria_met, progress, status_document
from cockpit.runbook import ANSWERS, CHOOSABLE, Entry, Phase, Runbook, Step
from cockpit.safefiles import check_folder, private_dir, remove_empty
from cockpit.secrets import Redactor, mask_userinfo
from cockpit.state import RunState
from cockpit.workspace import Workspace


def _known_runs(ws: Workspace) -> str:
    """``runs: A, B`` (the newest ten) for an error naming a run that is not there."""
    try:
        names = sorted((p.name for p in ws.runs_dir.iterdir() if p.is_dir()), reverse=True)
    except OSError:
        names = []
    if not names:
        return "no runs yet: `cockpit start` starts one"
    more = f" and {len(names) - 10} older: `cockpit runs`" if len(names) > 10 else ""
    return "runs: " + ", ".join(names[:10]) + more


class RunSession:
    """One run of a workspace, as its driver or a reader."""

    def __init__(
        self, ws: Workspace, run_id: str, clock: Clock | None = None, operator: str | None = None
    ):
        self.ws = ws
        self.run_id = run_id
        self._texts_fill = ws.runbook.has_text_placeholders()
        self._filled: Runbook = ws.runbook
        self._filled_for: tuple[tuple[str, str], ...] = ()
        self.dir = ws.run_dir(run_id)
        self.journal_path = self.dir / "journal.jsonl"
        anchor = ws.state_dir  # every state file is checked from here down (safefiles)
        if not check_folder(self.dir, anchor) or not os.path.lexists(self.journal_path):
            raise CockpitError(f"no run {run_id!r} in {ws.runs_dir} ({_known_runs(ws)})")
        self.clock = clock or Clock()
        self.operator = operator or ws.operator()
        self.redactor = Redactor(ws.config.secret_values())
        self.journal = Journal(
            self.journal_path, self.operator, self.clock, self.redactor, anchor=anchor
        )
        self.follower = JournalFollower(self.journal_path, anchor)
        self._read_lock = threading.Lock()
        self.state = RunState(sample_window=ws.config.health.window)
        self.lock = RunLock(self.dir / "lock", self.clock, anchor)
        batch = self.follower.read_new(final=True)
        for event in batch.events:
            self.state.apply(event)
        self.state.warnings.extend(batch.warnings)
        if self.state.run is None:
            raise CockpitError(f"run {run_id!r}: the journal has no run.started event")

    # -- creating and following -------------------------------------------------------

    @classmethod
    def start(
        cls,
        ws: Workspace,
        release_type: str,
        version: str | None = None,
        clock: Clock | None = None,
        operator: str | None = None,
    ) -> RunSession:
        """Create a new run (its folder, journal and ``run.started`` event).

        A state folder that is a link or another user's is refused; one that cannot be
        written (a full disk) leaves no run behind. Both are ``StateFileError`` in words.
        """
        ws.config.check_release_type(release_type)  # config release_types
        rules = ws.versioning
        clock = clock or Clock()
        operator = operator or ws.operator()
        # the last production tag and its commit: the previous version, and where the
        # release range starts, fixed now — tagging the release (or moving that tag)
        # later never changes what this run releases
        since_tag, since_commit = production_tag_commit(ws.root, rules)
        previous = rules.version_of(since_tag) if since_tag else None
        if version is None:
            version = str(rules.after(previous, release_type))
        version = str(rules.parse(version))
        now = clock.now()
        private_dir(ws.runs_dir, ws.state_dir)
        base = f"{now:%Y%m%d-%H%M%S}-{release_type}-{version}"
        run_id, n = base, 1
        while os.path.lexists(ws.run_dir(run_id)):
            n += 1
            run_id = f"{base}-{n}"
        private_dir(ws.run_dir(run_id), ws.state_dir)
        journal = Journal(
            ws.run_dir(run_id) / "journal.jsonl",
            operator,
            clock,
            Redactor(ws.config.secret_values()),
            anchor=ws.state_dir,
        )
        started = RunStarted(
            run={
                "id": run_id,
                "type": release_type,
                "version": version,
                "operator": operator,
                "started_at": journal.clock.now().isoformat(timespec="milliseconds"),
                "previous_version": str(previous) if previous else None,
                "workspace": str(ws.root),
                "since_tag": since_tag,
                "since_commit": since_commit,
            },
            runbook=str(ws.runbook.folder),
            config=str(ws.config_path),
        )
        try:
            journal.append(started.TYPE, **started.fields())
        except OSError:
            journal.close()
            remove_empty(ws.run_dir(run_id), ("journal.jsonl",), ws.state_dir)
            raise
        journal.close()
        return cls(ws, run_id, clock, operator)

    def close(self) -> None:
        self.release()
        self.journal.close()

    # -- the driver lock ---------------------------------------------------------------

    def take_lock(self) -> Holder | None:
        """Become the driver; journal a takeover of a stale lock and return its old holder.

        A corrupt lock replaced on the way is journaled too (``lock.replaced`` says what
        was wrong with it). When the journal cannot be written the lock is let go again.
        """
        previous = self.lock.acquire(self.operator)
        try:
            me = self.lock.read()
            self.write(
                LockAcquired(driver={"pid": me.pid, "host": me.host, "user": me.user} if me else {})
            )
            if previous is not None:
                self.write(
                    LockTakenOver(
                        previous={
                            "pid": previous.pid,
                            "host": previous.host,
                            "user": previous.user,
                            "operator": previous.operator,
                            "started_at": previous.started_at,
                        },
                        reason=previous.gone_reason(),
                    )
                )
            elif self.lock.replaced:
                self.write(LockTakenOver(reason=f"{self.lock.replaced}: replaced"))
        except BaseException:
            self.lock.release()
            raise
        if previous is not None or self.lock.replaced:
            self.refresh()
        return previous

    def release(self, reason: str | None = None) -> None:
        """Stop driving (journaled, with why when it is not a plain quit)."""
        try:
            if self.lock.held:
                self.write(LockReleased(reason=reason))
        finally:
            self.lock.release()

    # -- what the run looks like -----------------------------------------------------------

    @property
    def release_type(self) -> str:
        assert self.state.run is not None
        return self.state.run.type

    def phases(self) -> list[Phase]:
        return self.runbook.for_type(self.release_type)

    def progress(self, phase_id: str) -> PhaseProgress:
        return progress(self.runbook, self.state, phase_id)

    def status(self) -> dict[str, Any]:
        """``cockpit status --json``: the phases, and the facts every surface states alike
        (deployment time, decision, driver, health, rollback criteria; ``cockpit.facts``)."""
        doc = status_document(self.runbook, self.state)
        envs = self.ws.config.environments
        now = self.clock.now()
        return doc | run_facts(self.runbook, self.state, self.lock, envs, now)

    @property
    def runbook(self) -> Runbook:
        """The runbook with this run's facts filled into its titles and texts ("Tag
        production-v{version}"), as every screen and report shows it; the workspace's own
        when no text names a placeholder."""
        if self.state.run is None or not self._texts_fill:
            return self.ws.runbook
        values = {
            k: mask_userinfo(" ".join(v) if isinstance(v, list) else v)
            for k, v in self.placeholder_values().items()
        }
        key = tuple(sorted(values.items()))
        if key != self._filled_for:
            self._filled = self.ws.runbook.with_texts(lambda text: fill_text(text, values))
            self._filled_for = key
        return self._filled

    def placeholder_values(self) -> dict[str, str | list[str]]:
        """Values for ``{name}`` in commands: config vars, environment URLs, the run's facts."""
        assert self.state.run is not None
        run = self.state.run
        values: dict[str, str | list[str]] = dict(self.ws.config.vars)
        for name, env in self.ws.config.environments.items():
            values[f"{name}_url"] = env.url
        previous = run.previous_version or ""
        tag_for = self.ws.versioning.tag_for  # config versioning.tag
        values.update(
            version=run.version,
            run_id=run.id,
            release_type=run.type,
            previous_version=previous,
            workspace=str(self.ws.root),
            rollback_target=self.state.rollback_target or (tag_for(previous) if previous else ""),
        )
        chosen = self.state.chosen.items()  # the rollback target: above, whoever set it last
        values.update({name: e.value for name, e in chosen if name != "rollback_target"})
        values.update(
            rollback_version=previous,
            release_tag=tag_for(run.version),
            deployment_range=f"{tag_for(previous)}..{tag_for(run.version)}" if previous else "",
        )
        return values

    # -- rules: each returns the event an intent makes -----------------------------------
    # Each intent is planned (validated against runbook and state, in memory, returning a
    # typed event from cockpit.events) and then written (disk IO, safe from a worker
    # thread); the state changes only when the journal is read back.
    # ``check``/``uncheck``/... do all three for scripts and tests.

    def write(self, event: Event) -> dict[str, Any]:
        """Append a planned event to the journal (fsynced). Thread-safe."""
        return self.journal.append(event.TYPE, **event.fields())

    def read_pending(self) -> Batch:
        """Read what was appended since the last read (disk IO; thread-safe)."""
        with self._read_lock:
            return self.follower.read_new()

    def apply(self, batch: Batch) -> list[Event]:
        """Fold a batch read by ``read_pending`` into the state (call from one thread); the
        typed events, in journal order."""
        events = [parse(line) for line in batch.events]
        for event in events:
            self.state.apply(event)
        self.state.warnings.extend(batch.warnings)
        return events

    def refresh(self) -> list[Event]:
        """Read and apply what was appended since the last read (by us or anyone)."""
        return self.apply(self.read_pending())

    def _do(self, event: Event) -> dict[str, Any]:
        line = self.write(event)
        self.refresh()
        return line

    def _entry(self, phase_id: str, item_id: str) -> tuple[Phase, Entry]:
        try:
            phase = self.runbook.phase(phase_id)
        except KeyError as exc:
            raise CockpitError(str(exc.args[0])) from None
        if not phase.applies_to(self.release_type):
            raise CockpitError(f"phase {phase_id!r} is not part of a {self.release_type} release")
        entry = phase.item(item_id)
        if entry is None:
            known = ", ".join(e.item.id for e in phase.items_for(self.release_type))
            raise CockpitError(f"no item {item_id!r} in phase {phase_id!r} (items: {known})")
        if entry.types is not None and self.release_type not in entry.types:
            raise CockpitError(
                f"item {item_id!r} is not part of a {self.release_type} release "
                f"(only {', '.join(entry.types)})"
            )
        return phase, entry

    def require_unlocked(self, phase_id: str) -> None:
        """CockpitError in words while the phase waits on others (and how to open it)."""
        p = self.progress(phase_id)
        if p.locked:
            raise CockpitError(
                f"phase {phase_id!r} is locked until {', '.join(p.waiting_on)} "
                f"{'is' if len(p.waiting_on) == 1 else 'are'} complete; override it with a "
                f"reason (`cockpit override {phase_id} --reason TEXT`, or `o` on its checklist)"
            )

    def tick_allowed(self, phase_id: str, item_id: str) -> Entry:
        """The item, if it may be ticked now (a note may still be needed); else CockpitError."""
        _, entry = self._entry(phase_id, item_id)
        self.require_unlocked(phase_id)
        return entry

    def plan_check(
        self,
        phase_id: str,
        item_id: str,
        note: str | None = None,
        evidence: dict[str, Any] | None = None,
        signer: str | None = None,
        answer: str | None = None,
    ) -> Event:
        """Validate ticking an item (with an optional note and evidence); ``signer``: who
        signs a sign-off (an item with a role) when not the operator; ``answer``: a
        question's answer (yes, no, unknown), required for those and only for those."""
        entry = self.tick_allowed(phase_id, item_id)
        done = self.state.item(phase_id, item_id)
        if done.checked:  # a second tick would replace who ticked or signed it
            who = f"signed by {done.signed_by}, " if done.signed_by else ""
            raise CockpitError(
                f"item {item_id!r} is already ticked ({who}by {done.by} at "
                f"{local_hms(done.at)}); untick it first to tick it again"
            )
        note = (note or "").strip() or None
        answer = (answer or "").strip().lower() or None
        if entry.item.answer and answer not in ANSWERS:
            raise CockpitError(
                f"item {item_id!r} is a question: answer it yes, no or unknown ({entry.item.text})"
            )
        if not entry.item.answer and answer is not None:
            raise CockpitError(f"item {item_id!r} is not a question: it is ticked, not answered")
        if entry.item.note_required and not note and not self.state.item(phase_id, item_id).note:
            raise CockpitError(f"item {item_id!r} needs a note: {entry.item.text}")
        signed = (signer or "").strip() or None
        if signed is not None and entry.role is None:
            raise CockpitError(
                f"item {item_id!r} has no role to sign for: it is ticked by whoever does it"
            )
        if signed == self.operator:
            signed = None  # the operator signed it themself: ``by`` says so
        return ItemChecked(
            phase=phase_id,
            item=item_id,
            note=note,
            evidence=evidence or None,
            signed_by=signed,
            answer=answer,
        )

    def plan_uncheck(self, phase_id: str, item_id: str, note: str | None = None) -> Event:
        """Validate unticking an item (the journal keeps that it had been ticked)."""
        self._entry(phase_id, item_id)
        self.require_unlocked(phase_id)
        return ItemUnchecked(phase=phase_id, item=item_id, note=(note or "").strip() or None)

    def plan_toggle(self, phase_id: str, item_id: str) -> Event:
        if self.state.item(phase_id, item_id).checked:
            return self.plan_uncheck(phase_id, item_id)
        return self.plan_check(phase_id, item_id)

    def plan_note(self, phase_id: str, item_id: str, note: str) -> Event:
        """Validate attaching a note to an item without ticking it."""
        self._entry(phase_id, item_id)
        if not note.strip():
            raise CockpitError("a note needs some text")
        return ItemNoted(phase=phase_id, item=item_id, note=note.strip())

    def plan_override(self, phase_id: str, reason: str) -> Event:
        """Validate opening a locked phase early; the reason and what it waited on are kept."""
        p = self.progress(phase_id)
        if not p.locked:
            raise CockpitError(f"phase {phase_id!r} is not locked")
        if not reason.strip():
            raise CockpitError("an override needs a reason")
        return PhaseUnlocked(phase=phase_id, reason=reason.strip(), waiting=list(p.waiting_on))

    # -- steps -------------------------------------------------------------------------

    def step_spec(self, phase_id: str, step_id: str) -> Step:
        """The runbook step, if it is part of this run's release type."""
        try:
            phase = self.runbook.phase(phase_id)
        except KeyError as exc:
            raise CockpitError(str(exc.args[0])) from None
        step = next((s for s in phase.steps_for(self.release_type) if s.id == step_id), None)
        if step is None:
            known = ", ".join(s.id for s in phase.steps_for(self.release_type)) or "none"
            raise CockpitError(f"no step {step_id!r} in phase {phase_id!r} (steps: {known})")
        return step

    def plan_step_start(
        self,
        phase_id: str,
        step_id: str,
        commands: list[str],
        out_of_order: dict[str, Any] | None = None,
    ) -> Event:
        """Validate starting (or retrying) a step: the phase is open, the step not done."""
        self._startable(phase_id, step_id)
        st = self.state.step(phase_id, step_id)
        return StepStarted(
            phase=phase_id,
            step=step_id,
            attempt=st.attempts + 1,
            commands=[self.redactor.text(c) for c in commands],
            out_of_order=out_of_order,
        )

    def _startable(self, phase_id: str, step_id: str, running: str = "is already running") -> Step:
        """The step, if it may start (or be skipped) now: its phase is open, it is not
        running or finished."""
        step = self.step_spec(phase_id, step_id)
        self.require_unlocked(phase_id)
        st = self.state.step(phase_id, step_id)
        if st.state == StepStatus.RUNNING:
            raise CockpitError(f"step {step_id!r} ({step.title}) {running}")
        if st.state in FINISHED:
            raise CockpitError(f"step {step_id!r} ({step.title}) is already {st.state}")
        return step

    def plan_step_finished(
        self,
        phase_id: str,
        step_id: str,
        state: str,
        exit_code: int | None,
        reason: str | None,
        duration_s: float,
    ) -> Event:
        return StepFinished(
            phase=phase_id,
            step=step_id,
            state=state,
            exit_code=exit_code,
            reason=reason,
            duration_s=round(duration_s, 3),
        )

    def plan_window_start(
        self, phase_id: str, step_id: str, out_of_order: dict[str, Any] | None = None
    ) -> Event:
        """Open the timed window of a step without commands (a stage, a monitoring period)."""
        if self.step_spec(phase_id, step_id).commands:
            raise CockpitError(f"step {step_id!r} runs commands: it is not a timed window")
        self._startable(phase_id, step_id)
        return WindowStarted(phase=phase_id, step=step_id, out_of_order=out_of_order)

    def plan_window_end(self, phase_id: str, step_id: str, how: str) -> Event:
        """Close a running timed window ("its checks are ticked", "ended by the operator")."""
        step = self.step_spec(phase_id, step_id)
        st = self.state.step(phase_id, step_id)
        if st.kind != "window" or st.state != StepStatus.RUNNING:
            raise CockpitError(f"the timer of {step.title!r} is not running")
        return WindowEnded(phase=phase_id, step=step_id, how=how)

    def plan_decision(self, choice: str, rationale: str, commander: str) -> Event:
        """The incident commander's decision: roll back or fix forward, with the rationale."""
        if choice not in ("rollback", "fix-forward"):
            raise CockpitError("the decision is 'rollback' or 'fix-forward'")
        if not rationale.strip():
            raise CockpitError("a decision needs its rationale")
        if not commander.strip():
            raise CockpitError("a decision needs the incident commander's name")
        return DecisionRecorded(
            choice=choice,
            rationale=rationale.strip(),
            commander=commander.strip(),
            criteria=[e.item.id for _, e in criteria_met(self.runbook, self.state)],
        )

    def plan_rollback_target(self, target: str) -> Event:
        """Change the deployment or tag the rollback returns to (prefilled: the last production tag)."""
        if not target.strip() or any(c.isspace() for c in target.strip()):
            raise CockpitError("the rollback target is one word: a deployment URL or a tag")
        return RollbackTargetSet(target=target.strip())

    def plan_choice(
        self, name: str, value: str, phase_id: str | None = None, step_id: str | None = None
    ) -> Event:
        """The operator's pick of a value a command offered (or ``--set NAME=VALUE``)."""
        value = value.strip()
        if not value or "\n" in value:
            raise CockpitError(f"{name}: a value is one line of text")
        if name not in {*self.ws.config.vars, *CHOOSABLE}:
            known = ", ".join(sorted({*self.ws.config.vars, *CHOOSABLE}))
            raise CockpitError(f"{name!r} cannot be chosen (known: {known})")
        return ValueChosen(name=name, value=value, phase=phase_id, step=step_id)

    def plan_branch_created(self, branch: str, tag: str, commit: str) -> Event:
        return BranchCreated(branch=branch, from_tag=tag, commit=commit)

    def plan_close(self, note: str | None = None) -> Event:
        """Close the run: it stops being the active one (its journal and logs stay)."""
        if self.state.closed is not None:
            raise CockpitError(f"run {self.run_id} is already closed")
        running = [
            f"{p}/{s}"
            for (p, s), st in self.state.steps.items()
            if st.state == StepStatus.RUNNING and st.kind == "commands"
        ]
        if running:
            raise CockpitError(f"steps still running: {', '.join(running)}")
        return RunClosed(note=(note or "").strip() or None)

    def plan_step_skip(self, phase_id: str, step_id: str, reason: str) -> Event:
        """Validate skipping a step: a reason is required, a running step is aborted first."""
        self._startable(phase_id, step_id, running="is running: abort it first")
        if not reason.strip():
            raise CockpitError("skipping a step needs a reason")
        return StepSkipped(phase=phase_id, step=step_id, reason=reason.strip())

    def log_path(self, phase_id: str, step_id: str) -> Path:
        """Where every line of a step's commands is kept."""
        return self.dir / "logs" / phase_id / f"{step_id}.log"

    def plan_health_change(self, summary: dict[str, Any], previous: str | None) -> Event:
        """An environment changed state (journaled while a run is active)."""
        keys = ("env", "state", "http_status", "latency_ms", "error", "reason", "p95_ms")
        return HealthChanged(**{k: summary.get(k) for k in keys}, previous=previous)

    def plan_health_sample(self, summary: dict[str, Any]) -> Event:
        """One probe of an environment as its panel judged it (``EnvHealth.summary``):
        self-contained and compact, latencies to 0.1 ms."""

        def ms(value: Any) -> float | None:
            return round(float(value), 1) if isinstance(value, int | float) else None

        return HealthSampled(
            env=summary["env"],
            state=summary["state"],
            latency_ms=ms(summary.get("latency_ms")),
            http_status=summary.get("http_status"),
            p50_ms=ms(summary.get("p50_ms")),
            p95_ms=ms(summary.get("p95_ms")),
            reason=summary.get("reason"),
            error=summary.get("error"),
        )

    def plan_baseline(self, baseline: dict[str, Any]) -> Event:
        """Production's latency baseline, taken when the production deployment starts."""
        return parse({"type": BaselineTaken.TYPE, **baseline})  # keeps any extra figure

    def plan_flag(self, phase_id: str, criterion: str, evidence: dict[str, Any]) -> Event:
        """Tick a rollback criterion as met because the health side says so."""
        return ItemChecked(
            phase=phase_id,
            item=criterion,
            evidence=evidence,
            by=f"{self.operator} (health signal)",
            auto=True,
        )

    def plan_verification_failed(
        self, phase_id: str, item_id: str, evidence: dict[str, Any]
    ) -> Event:
        """A self-verifying item's probe did not pass: keep the evidence, leave it unticked."""
        self._entry(phase_id, item_id)
        return VerificationFailed(phase=phase_id, item=item_id, evidence=evidence)

    def check(
        self,
        phase_id: str,
        item_id: str,
        note: str | None = None,
        evidence: dict[str, Any] | None = None,
        signer: str | None = None,
        answer: str | None = None,
    ) -> dict[str, Any]:
        return self._do(self.plan_check(phase_id, item_id, note, evidence, signer, answer))

    def uncheck(self, phase_id: str, item_id: str, note: str | None = None) -> dict[str, Any]:
        return self._do(self.plan_uncheck(phase_id, item_id, note))

    def add_note(self, phase_id: str, item_id: str, note: str) -> dict[str, Any]:
        return self._do(self.plan_note(phase_id, item_id, note))

    def override(self, phase_id: str, reason: str) -> dict[str, Any]:
        return self._do(self.plan_override(phase_id, reason))
