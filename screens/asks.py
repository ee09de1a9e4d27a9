"""The questions asked before a step changes, each a dialog that calls back only on yes.

Owns the words of every question the deploy screen asks: the ``confirm:`` word a step
needs before it runs (a wrong word runs nothing, and says so), the reason for a skip,
the abort (what it sends to the command's tree), ending a timed window while some of its
checks are not ticked (which ones), and the rollback target. Answering "no" or Esc does
nothing; the callback receives only a yes.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App

from cockpit.runbook import Item, Step
from screens.dialogs import Choose, Confirm, TextPrompt


def confirm_word(
    app: App, step: Step, then: Callable[[], None], commands: list[str] | None = None
) -> None:
    """Run ``then`` once the operator typed the step's ``confirm:`` word (at once if none);
    ``commands``: what it will run, as shown (listed in the question)."""
    if not step.confirm:
        then()
        return
    word_needed = step.confirm

    def answer(word: str | None) -> None:
        if word is None:
            return
        if word != word_needed:
            app.notify(f"typed {word!r}, not {word_needed!r}: not run", severity="error")
            return
        then()

    app.push_screen(
        TextPrompt(
            f"Type {word_needed!r} to run: {step.title}",
            "This step asks for a typed confirmation before it runs. It runs:\n"
            + "\n".join(f"$ {c}" for c in (commands or [])[:6])
            + ("\n…" if len(commands or []) > 6 else ""),
            ok="Run",
        ),
        answer,
    )


def skip_reason(app: App, step: Step, then: Callable[[str], None]) -> None:
    """Why the step is skipped (journaled with the operator's name)."""
    app.push_screen(
        TextPrompt(
            f"Skip: {step.title}", "Why? The reason is journaled with your name.", ok="Skip"
        ),
        lambda reason: then(reason) if reason else None,
    )


def abort(app: App, title: str, then: Callable[[], None]) -> None:
    """Abort the running step's command and everything it started?"""

    def answer(yes: bool | None) -> None:
        if yes:
            then()
            app.notify("stopping the command and everything it started…", title="Aborting")

    app.push_screen(
        Confirm(
            f"Abort {title}?",
            "SIGINT, then SIGTERM, then SIGKILL to the command and every process it started.",
            yes="Abort",
            no="Keep running",
        ),
        answer,
    )


def abort_workflow(app: App, title: str, run: str, then: Callable[[bool], None]) -> None:
    """Abort a step following a GitHub workflow run: cancel the run on GitHub, or stop
    following and leave it running? (``then(cancel)``.)"""

    def answer(choice: str | None) -> None:
        if choice in ("c", "l"):
            then(choice == "c")
            app.notify(
                "cancelling the run on GitHub…" if choice == "c" else "leaving the run running…",
                title="Aborting",
            )

    app.push_screen(
        Choose(
            f"Abort {title}?",
            f"It follows {run} on GitHub. Cancel that run there too, or stop following "
            "and leave it running (the step is recorded as aborted either way)?",
            [("c", "Abort and cancel the run"), ("l", "Abort, leave it running"), ("k", "Keep")],
        ),
        answer,
    )


def end_window(app: App, step: Step, open_checks: list[Item], then: Callable[[], None]) -> None:
    """End a timed window; asked only while some of its checks are not ticked."""
    if not open_checks:
        then()
        return
    ticked = len(step.checks) - len(open_checks)
    app.push_screen(
        Confirm(
            f"End {step.title} with {ticked}/{len(step.checks)} checks ticked?",
            "Not ticked: " + "; ".join(c.text for c in open_checks) + ". Ending it is "
            "journaled with your name; the checks stay open on the checklist.",
            yes="End it",
            no="Keep the timer running",
        ),
        lambda yes: then() if yes else None,
    )


def rollback_target(app: App, current: str, then: Callable[[str], None]) -> None:
    """Where to roll back to (prefilled with the last production tag)."""
    app.push_screen(
        TextPrompt(
            "Roll back to",
            "The last known good deployment or tag (prefilled: the last production tag).",
            value=current,
            ok="Set target",
        ),
        lambda target: then(target) if target and target != current else None,
    )
