"""What the commander's header states: what is next (the driver's open phase first, the
incident's phases only in an incident, the phase waiting for a running step), and the
incident clocks."""

from __future__ import annotations

from cockpit.commander import incident_clocks, now_and_next
from cockpit.events import ViewOpened


def nxt(session):
    session.refresh()
    return now_and_next(session.runbook, session.state, session.clock.now())[1]


def test_the_incident_phases_are_next_only_in_an_incident(session):
    assert nxt(session).phase_title == "Pre-Release Gates"
    session.write(ViewOpened(phase="rollback-decision"))  # the driver merely looked at it
    assert nxt(session).phase_title == "Pre-Release Gates"
    session.write(ViewOpened(phase="pre-production"))
    session.override("pre-production", "CAB-88")
    assert nxt(session).phase_title == "Pre-Production Checklist (T-1 hour)"
    session.check("rollback-decision", "data-corruption", note="orders table")
    session.write(ViewOpened(phase="rollback-decision"))
    assert nxt(session).title == "Assess Impact"
    session.clock.advance(95)
    clocks = incident_clocks(session.runbook, session.state, session.clock.now())
    assert clocks.since_criterion == 95 and clocks.since_decision is None


def test_while_a_window_runs_the_phase_waiting_for_it_is_next(session):
    session.override("production-deploy", "CAB-88")
    for step in (
        "pre-deployment-validation",
        "db-migration",
        "app-deployment",
        "post-deployment-validation",
    ):
        session.write(session.plan_step_start("production-deploy", step, ["true"]))
        session.write(session.plan_step_finished("production-deploy", step, "done", 0, None, 1))
    session.write(session.plan_window_start("production-deploy", "monitoring"))
    session.refresh()
    running, coming = now_and_next(session.runbook, session.state, session.clock.now())
    assert running.title == "Monitoring and Verification"
    assert coming is not None and coming.phase_title == "Post-Deployment Activities"


def test_a_stage_timed_before_any_criterion_never_breaks_the_header(session):
    """The decide stage runs (``d`` opened, then cancelled) with no criterion met and no
    decision: its phase is not "due", yet what runs and what is next are still said."""
    session.write(session.plan_window_start("rollback-decision", "make-decision"))
    session.refresh()
    running, coming = now_and_next(session.runbook, session.state, session.clock.now())
    assert running.title == "Make Decision"
    assert coming is not None and coming.phase_title == "Pre-Release Gates"
