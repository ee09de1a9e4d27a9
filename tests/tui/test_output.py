"""A step's output in the deploy screen as a terminal shows it, and safe: colours drawn,
a progress line shown at its last state, and nothing a command prints acting on the
operator's terminal. The step log keeps the raw bytes; search works on the text."""

from __future__ import annotations

from textual.widgets import RichLog

from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.deploy import DeployScreen
from screens.dialogs import TextPrompt
from tests.helpers import phase_workspace, until

NOISY = (
    r"printf '\033]2;PWNED-TITLE\007title line\n'"
    r"; printf '\033[2J\033[Hcleared line\n'"
    r"; printf '\033[31mred\033[0m ok\n'"
    r"; printf 'progress 10%%\rprogress 55%%\rprogress 100%%\n'"
    r"; printf '\033[?1049halternate line\n'"
    r"; printf 'bell\007 line\n'"
    r"; printf 'nul\000 line\n'"
    r"; printf '\377\376 not utf-8\n'"
    r"; printf 'last line\n'"
)


def workspace(tmp_path, printer: str = NOISY, step: str = "noisy"):
    """A workspace whose phase ``ship`` has one step running ``printer`` as a script."""
    script = tmp_path / f"{step}.sh"
    script.write_text(printer + "\n")
    phase = (
        f"id: ship\ntitle: Ship\nsteps:\n  - id: {step}\n    title: {step.title()}\n"
        f"    commands:\n      - run: sh {script}\n"
    )
    return phase_workspace(tmp_path / "ws", {"ship.yaml": phase})


async def test_output_is_drawn_as_a_terminal_would_and_nothing_escapes(tmp_path):
    root = workspace(tmp_path)
    session = RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="ana")
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase("ship")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
        screen = app.screen
        await pilot.pause()
        await pilot.press("r")
        await until(pilot, lambda: session.state.step("ship", "noisy").state == "done", "done")
        view = screen.query_one("#step-log", RichLog)
        await until(
            pilot, lambda: any("last line" in s.text for s in view.lines), "every line drawn"
        )
        # a tty: true command's terminal is as wide as this log view
        assert app.driver.columns == view.scrollable_content_region.width < 160
        texts = [strip.text for strip in view.lines]
        shown = "\n".join(texts)
        for line in ("title line", "cleared line", "red ok", "alternate line", "bell line"):
            assert line in shown
        assert "progress 100%" in shown and "progress 10%" not in shown
        assert "nul line" in shown and "\ufffd\ufffd not utf-8" in shown
        for text in texts:  # no control character reaches a cell of the screen
            assert all(ch == "\t" or ch.isprintable() for ch in text), repr(text)
        red = next(seg for strip in view.lines for seg in strip if seg.text == "red" and seg.style)
        assert red.style.color is not None and red.style.color.name in ("red", "color(1)")
        # the screen itself is intact: the step list and the heading are still there
        assert "Noisy" in str(screen.query_one("#steps").get_option_at_index(0).prompt)
        # the step log keeps what the command wrote, byte for byte
        raw = session.log_path("ship", "noisy").read_bytes()
        assert b"\x1b]2;PWNED-TITLE\x07title line" in raw and b"\xff\xfe not utf-8" in raw
        assert b"progress 10%\rprogress 55%\rprogress 100%" in raw
        # search works on the text, not on the escapes around it
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "search asked")
        await pilot.press(*"red ok", "enter")
        await until(
            pilot,
            lambda: any("1 line matches 'red ok'" in s.text for s in view.lines),
            "the coloured line is found by its text",
        )
    session.close()


PROGRESS = (
    "printf 'before\\n'; printf 'upload 10%%\\r'; sleep 1.2; printf 'upload 50%%\\r'; "
    "sleep 1.2; printf 'upload 100%%\\n'; printf 'after\\r\\n'"
)


async def test_a_progress_line_updates_while_it_is_written(tmp_path):
    root = workspace(tmp_path, PROGRESS, "upload")
    session = RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="ana")
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)

    def shown() -> list[str]:
        view = app.screen.query_one("#step-log", RichLog)
        return [strip.text[9:].rstrip() for strip in view.lines]  # past the "HH:MM:SS "

    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase("ship")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
        await pilot.pause()
        await pilot.press("r")
        # before the line ends, its progress shows, one line that updates
        await until(pilot, lambda: "upload 10%" in shown(), "the progress while written")
        await until(pilot, lambda: "upload 50%" in shown(), "the progress updated")
        assert "upload 10%" not in shown() and shown().count("upload 50%") == 1
        await until(pilot, lambda: session.state.step("ship", "upload").state == "done", "done")
        await until(pilot, lambda: "after" in shown(), "every line drawn")
        lines = shown()
        assert lines.count("upload 100%") == 1, lines
        assert not any("upload 10%" in ln or "upload 50%" in ln for ln in lines), lines
        assert lines.index("before") < lines.index("upload 100%") < lines.index("after")
    # the log keeps the bytes: the line in progress is logged as o lines, \r implied
    raw = session.log_path("ship", "upload").read_bytes()
    texts = [ln.split(b" ", 2) for ln in raw.split(b"\n") if ln[25:26] in (b"o", b"O")]
    joined = b"".join(t[2] + (b"\r" if t[1] == b"o" else b"\n") for t in texts)
    assert joined == b"before\nupload 10%\rupload 50%\rupload 100%\nafter\r\n"
    session.close()


async def test_the_log_catches_up_with_what_was_written_while_another_screen_was_on_top(
    tmp_path,
):
    printer = "for i in $(seq 1 8); do echo row $i; sleep 0.1; done; echo last-row"
    root = workspace(tmp_path, printer, "rows")
    session = RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="ana")
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase("ship")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
        deploy = app.screen
        await pilot.pause()
        view = deploy.query_one("#step-log", RichLog)
        await pilot.press("r")
        await until(pilot, lambda: any("row 1" in s.text for s in view.lines), "first rows")
        app.push_screen(TextPrompt("something else on top"))  # the deploy screen is hidden
        await until(pilot, lambda: session.state.step("ship", "rows").state == "done", "done")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is deploy, "the deploy screen again")
        await until(
            pilot,
            lambda: any("last-row" in s.text for s in view.lines),
            "the rows written meanwhile",
        )
    session.close()
