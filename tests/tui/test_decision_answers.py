"""Decisions as answers: the runbook's questions (``answer: yes-no``) take yes, no or
unknown with a note, in the TUI and from ``cockpit check --answer``; the incident
commander named in the decision signs the decision items; the stages are timed one after
the other from the assessment to the decision, the last one included."""

from __future__ import annotations

from cockpit.journal import read_journal
from cockpit.report import build, markdown
from screens.answer import AnswerPrompt
from screens.checklist import ChecklistView
from screens.decision import DecisionDialog
from screens.deploy import DeployScreen
from tests.helpers import run_cli, until
from tests.tui.test_incident import app_for, open_phase

PHASE = "rollback-decision"
QUESTION = "can-issue-be-fixed-forward-quickly"


async def test_questions_are_answered_and_the_commander_signs_the_decision(session):
    session.check(PHASE, "performance-10x", note="p95 ×14 vs baseline")
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, PHASE)
        view = screen.query_one(ChecklistView)
        view.highlighted = view.get_option_index("determine-scope-and-severity")
        await pilot.press("t")
        await until(pilot, lambda: session.state.step(PHASE, "assess-impact").started_at, "timer")
        for item in ("determine-scope-and-severity", "identify-affected-users"):
            view.highlighted = view.get_option_index(item)
            await pilot.press("space")
            await until(pilot, lambda i=item: session.state.item(PHASE, i).checked, item)
        view.highlighted = view.get_option_index("estimate-resolution-time")
        await pilot.press("space")
        await until(
            pilot,  # the assessment's end starts the evaluation's timer
            lambda: session.state.step(PHASE, "evaluate-options").state == "running",
            "the next stage timed",
        )
        view.highlighted = view.get_option_index(QUESTION)
        await pilot.press("space")
        await until(pilot, lambda: isinstance(app.screen, AnswerPrompt), "the question asked")
        await pilot.press(*"needs a schema change")
        await pilot.click("#answer-no")
        await until(pilot, lambda: session.state.item(PHASE, QUESTION).checked, "answered")
        st = session.state.item(PHASE, QUESTION)
        assert (st.answer, st.note) == ("no", "needs a schema change")
        await pilot.pause()
        assert "→ NO" in str(view.get_option(QUESTION).prompt)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DecisionDialog), "decision dialog")
        dialog = app.screen
        dialog.query_one("#decision-commander").value = "Iris IC"
        dialog.query_one("#decision-rationale").value = "p95 x14 since the deploy"
        await pilot.click("#ok")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "rollback opens")
    for item in ("incident-commander-makes-final-call", "document-decision-rationale"):
        st = session.state.item(PHASE, item)
        assert st.checked and st.signed_by == "Iris IC", item
    assert session.state.item(PHASE, "incident-commander-makes-final-call").note == (
        "Iris IC: roll back"
    )
    decide = session.state.step(PHASE, "make-decision")
    assert decide.started_at and decide.finished_at  # timed, up to the decision
    assert "the decision was recorded" in (decide.reason or "")
    lines = [e for e in read_journal(session.journal_path).events if e.get("answer")]
    assert [(e["item"], e["answer"], e["note"]) for e in lines] == [
        (QUESTION, "no", "needs a schema change")
    ]
    report = markdown(build(session))
    assert "Can issue be fixed forward quickly? **NO**" in report


def test_check_answers_a_question_and_refuses_a_bare_tick(session):
    root = session.ws.root
    session.close()
    bare = run_cli(root, "check", PHASE, QUESTION)
    assert bare.returncode == 2
    assert "is a question: answer it yes, no or unknown" in bare.stderr
    wrong = run_cli(root, "check", PHASE, "identify-affected-users", "--answer", "yes")
    assert wrong.returncode == 2 and "is not a question" in wrong.stderr
    done = run_cli(
        root, "check", PHASE, QUESTION, "--answer", "unknown", "--note", "waiting on the DBA"
    )
    assert done.returncode == 0, done.stderr
    assert f"answered {PHASE}/{QUESTION}: UNKNOWN" in done.stdout
    status = run_cli(root, "report", "--format", "json")
    assert '"answer": "unknown"' in status.stdout
