"""Release Cockpit core: runbook model, config, journal, run state and CLI.

Nothing in this package imports Textual; the terminal UI lives in ``screens``
and is imported lazily by the CLI only when it opens the app.
"""

__version__ = "0.1.0"
