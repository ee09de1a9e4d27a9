"""The cockpit's configuration (``cockpit.yaml``): environments, health settings, vars, secrets.

Owns the strict config model, finding the config for a workspace (the team's own
``WORKSPACE/cockpit.yaml``, else the shipped default in ``checklists/``), and
resolving the runbook folder it names.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from cockpit.durations import positive_duration
from cockpit.errors import InputErrors, SourceError, display_path
from cockpit.secrets import url_credentials
from cockpit.strict import StrictModel, validate
from cockpit.urls import check_http_url
from cockpit.yamlsource import load_yaml

Seconds = Annotated[float, BeforeValidator(positive_duration)]
"""A duration of more than zero: ``interval``, ``timeout`` and ``p95_budget``."""
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_webhook(url: str) -> str:
    return check_http_url(url, secret=True)


def _check_base_url(url: str) -> str:
    return check_http_url(url, base=True)


class Environment(StrictModel):
    """One environment the release touches (staging, production)."""

    url: Annotated[str, AfterValidator(_check_base_url)]
    """Base URL; the health probe appends ``health.path`` to it."""


class HealthSettings(StrictModel):
    """How the ready endpoints are probed and judged."""

    path: str = "/api/ready"
    """Path of the ready endpoint on every environment."""
    interval: Seconds = 5.0
    """Time between the end of one probe and the start of the next."""
    timeout: Seconds = 3.0
    """Per-request limit; a slower answer is a timeout (DOWN)."""
    p95_budget: Seconds = 0.8
    """The runbook's API budget (<800ms p95); over it an environment is DEGRADED."""
    window: int = Field(default=60, ge=1)
    """How many recent samples p50/p95 are computed over."""
    bell: bool = True
    """Ring the terminal bell when an environment goes DOWN."""


class Notify(StrictModel):
    """Where release notifications go."""

    slack_webhook: Annotated[str, AfterValidator(_check_webhook)] | None = None
    """A Slack-compatible incoming webhook; the message is POSTed as ``{"text": ...}``."""
    release_notes_url: str | None = None
    """The link the messages give for the full release notes."""


class Config(StrictModel):
    """A team's cockpit.yaml."""

    runbook: str | None = None
    """The team's own runbook folder, relative to the workspace; default: the shipped one."""
    environments: dict[str, Environment] = Field(default_factory=dict)
    """Environments by name; each gives the ``{NAME_url}`` placeholder."""
    health: HealthSettings = Field(default_factory=HealthSettings)
    vars: dict[str, str | list[str]] = Field(default_factory=dict)
    """Values for ``{name}`` placeholders in commands (see the README on quoting)."""
    secrets: list[str] = Field(default_factory=list)
    """Environment variables whose values never reach a log, the screen or the journal."""
    notify: Notify = Field(default_factory=Notify)

    @field_validator("environments", "vars")
    @classmethod
    def _names(cls, value: dict) -> dict:
        for key in value:
            if not isinstance(key, str) or not NAME.match(key):
                raise ValueError(f"{key!r} is not a valid name (letters, digits, underscore)")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: list[str]) -> list[str]:
        for key in value:
            if not NAME.match(key):
                raise ValueError(f"{key!r} is not an environment variable name")
        return value

    def secret_values(self) -> list[str]:
        """The current values of the named secrets (empty ones left out), longest first."""
        values = {os.environ.get(name, "") for name in self.secrets}
        if self.notify.slack_webhook:  # a webhook URL is a credential
            values.add(self.notify.slack_webhook)
        for env in self.environments.values():  # a password inside an environment URL
            values.update(url_credentials(env.url))
        return sorted((v for v in values if len(v) >= 3), key=len, reverse=True)


def shipped_dir() -> Path:
    """The runbook and default config shipped inside the package ``checklists``."""
    return Path(str(resources.files("checklists")))


def find_config(workspace: Path, explicit: Path | None = None) -> Path:
    """The config file to use: ``--config``, else ``WORKSPACE/cockpit.yaml``, else the shipped one."""
    if explicit is not None:
        return explicit
    own = workspace / "cockpit.yaml"
    return own if own.exists() else shipped_dir() / "cockpit.yaml"


def check_config(path: Path) -> tuple[Config | None, list[SourceError]]:
    """Load and validate one config file; returns the model (or None) and every error."""
    data, errors = load_yaml(path)
    if data is None:
        return None, errors
    name = display_path(path)
    if not isinstance(data, dict):
        return None, [*errors, SourceError(name, getattr(data, "line", 1), "expected a mapping")]
    config, more = validate(Config, data, name)
    return (config if not errors else None), errors + more


def load_config(path: Path) -> Config:
    """The validated config at ``path``; raises InputErrors listing every problem."""
    config, errors = check_config(path)
    if errors or config is None:
        raise InputErrors(errors)
    return config


def runbook_dir(config: Config, workspace: Path, explicit: Path | None = None) -> Path:
    """The runbook folder: ``--runbook``, else config ``runbook:`` (workspace-relative), else shipped."""
    if explicit is not None:
        return explicit
    if config.runbook:
        return (workspace / config.runbook).resolve()
    return shipped_dir()
