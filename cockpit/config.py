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
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from cockpit.durations import positive_duration
from cockpit.errors import CockpitError, InputErrors, SourceError, display_path
from cockpit.secrets import url_credentials
from cockpit.strict import StrictModel, validate
from cockpit.urls import check_http_url
from cockpit.versions import (
    BUMPS,
    DEFAULT_BUMPS,
    DEFAULT_RC_TAG,
    DEFAULT_TAG,
    SCHEMES,
    Versioning,
    check_tag_pattern,
)
from cockpit.yamlsource import load_yaml

Seconds = Annotated[float, BeforeValidator(positive_duration)]
"""A duration of more than zero: ``interval``, ``timeout`` and ``p95_budget``."""
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_webhook(url: str) -> str:
    return check_http_url(url, secret=True)


def _check_base_url(url: str) -> str:
    return check_http_url(url, base=True)


def _check_path(path: str) -> str:
    if not path.startswith("/") or any(c in path for c in "?# \t\n") or "://" in path:
        raise ValueError(f"{path!r} is not a path like /api/ready (a leading /, no query)")
    return path


def _percent(value: object) -> float:
    """``99%``, ``99.5 %`` or a number (taken as a percentage), 0..100."""
    text = str(value).strip().removesuffix("%").strip() if not isinstance(value, bool) else ""
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"expected a percentage like 99% or 5%, got {value!r}") from None
    if not 0 <= number <= 100:
        raise ValueError(f"a percentage is between 0% and 100%, got {value!r}")
    return number


Percent = Annotated[float, BeforeValidator(_percent)]


class Environment(StrictModel):
    """One environment the release touches (staging, production)."""

    url: Annotated[str, AfterValidator(_check_base_url)]
    """Base URL; the health probe appends the health path to it."""
    health_path: Annotated[str, AfterValidator(_check_path)] | None = None
    """This environment's ready endpoint (``/health``), instead of ``health.path``."""


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


class Targets(StrictModel):
    """The runbook's success metrics ("Success Metrics"): what the report and the
    dashboard measure a release against."""

    deployment_time: Seconds = 3600.0
    """The deploy phase, first step started to last step ended, under this."""
    success_rate: Percent = 99.0
    """Releases deployed without failure, over this share."""
    rollback_rate: Percent = 5.0
    """Releases rolled back, under this share."""
    incidents_per_release: float = Field(default=1.0, ge=0)
    """Post-deployment incidents (rollback criteria met) per release, under this."""


def _check_address(address: str) -> str:
    local, at, domain = address.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in address):
        raise ValueError(f"{address!r} is not an e-mail address like releases@example.com")
    return address


Address = Annotated[str, AfterValidator(_check_address)]


def _check_host(host: str) -> str:
    if not host or any(c.isspace() or c in "/:@" for c in host):
        raise ValueError(f"{host!r} is not a host name like smtp.example.com")
    return host


class Email(StrictModel):
    """The SMTP relay the stakeholder update is sent through."""

    host: Annotated[str, AfterValidator(_check_host)]
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    """``starttls`` (port 587), ``tls`` (implicit TLS, port 465), or ``none`` (a relay on
    a trusted network only)."""
    sender: Address = Field(alias="from")
    to: list[Address] = Field(min_length=1)
    user: str | None = None
    password_env: Annotated[str, AfterValidator(lambda n: _check_env_name(n))] | None = None
    """The environment variable holding the password (a secret: masked everywhere)."""
    timeout: Seconds = 30.0
    ca_file: str | None = None
    """A CA bundle to trust for the relay's certificate (default: the system's)."""


class Notify(StrictModel):
    """Where release notifications go."""

    slack_webhook: Annotated[str, AfterValidator(_check_webhook)] | None = None
    """A Slack-compatible incoming webhook; the message is POSTed as ``{"text": ...}``."""
    release_notes_url: str | None = None
    """The link the messages give for the full release notes."""
    email: Email | None = None
    """Where the stakeholder update is sent (``E`` on the release screen)."""


REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _check_repo(repo: str) -> str:
    if not REPO.match(repo) or any(p in (".", "..") for p in repo.split("/")):
        raise ValueError(f"{repo!r} is not a repository like owner/name")
    return repo


def _check_env_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not an environment variable name (like GH_TOKEN)")
    return name


class GitHubSettings(StrictModel):
    """The GitHub REST API the runbook's ``workflow:`` commands use."""

    api_url: Annotated[str, AfterValidator(_check_base_url)] = "https://api.github.com"
    """GitHub Enterprise Server: ``https://HOST/api/v3``."""
    repo: Annotated[str, AfterValidator(_check_repo)]
    """``owner/name``."""
    token_env: Annotated[str, AfterValidator(_check_env_name)] = "GH_TOKEN"
    """The environment variable holding the token (a secret: masked everywhere)."""
    poll: Seconds = 5.0
    """Time between two looks at a workflow run being followed."""


RELEASE_TYPE_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DEFAULT_DESCRIPTIONS: dict[str, str] = {
    "standard": "planned bi-weekly release: features, improvements, fixes",
    "patch": "bug fixes and small improvements, 1-3 days to production",
    "hotfix": "emergency fix for a Severity 1/2 incident, 2-4 hours",
    "major": "significant features or architecture, quarterly",
}
"""What the start screen says of the default release types (a config without
``release_types:``)."""


def _check_bump(kind: str) -> str:
    if kind not in BUMPS:
        raise ValueError(
            f"unknown bump {kind!r} (one of {', '.join(BUMPS)}; a maintenance release is patch)"
        )
    return kind


def _check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown versioning scheme {scheme!r} (one of {', '.join(SCHEMES)})")
    return scheme


def _release_type_name(name: str) -> str:
    if not RELEASE_TYPE_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a release type name (lowercase words joined by '-', "
            "like maintenance or pre-release)"
        )
    return name


ReleaseTypeName = Annotated[str, AfterValidator(_release_type_name)]


class ReleaseTypeSettings(StrictModel):
    """One kind of release (``cockpit start --type NAME``) and the version it gets."""

    bump: Annotated[str, AfterValidator(_check_bump)]
    """What the next version bumps: ``major``, ``minor``, ``patch`` or ``pre``."""
    description: str | None = None
    """One line for the start screen (the shipped types have their own)."""


def _default_release_types() -> dict[str, ReleaseTypeSettings]:
    return {
        name: ReleaseTypeSettings(bump=bump, description=DEFAULT_DESCRIPTIONS.get(name))
        for name, bump in DEFAULT_BUMPS.items()
    }


class VersioningSettings(StrictModel):
    """How versions are written and which tags name a released one."""

    scheme: Annotated[str, AfterValidator(_check_scheme)] = "semver"
    """``semver`` (1.2.3, 1.3.0-rc.1) or ``pep440`` (10.0, 10.0-beta3, 10.1rc1)."""
    tag: Annotated[str, AfterValidator(check_tag_pattern)] = DEFAULT_TAG
    """The tag of a released (production) version; only tags of this pattern count."""
    rc_tag: Annotated[str, AfterValidator(check_tag_pattern)] = DEFAULT_RC_TAG
    """The release-candidate tag the release screen creates (``t``)."""

    @model_validator(mode="after")
    def _distinct(self) -> VersioningSettings:
        if self.tag == self.rc_tag:
            raise ValueError("'tag' and 'rc_tag' must differ (an rc tag would count as released)")
        return self


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
    release_types: dict[ReleaseTypeName, ReleaseTypeSettings] = Field(
        default_factory=_default_release_types
    )
    """The kinds of release, in the start screen's order; default: the shipped four."""
    versioning: VersioningSettings = Field(default_factory=VersioningSettings)
    targets: Targets = Field(default_factory=Targets)
    github: GitHubSettings | None = None
    """The GitHub REST API (``workflow:`` commands); None: not configured."""

    def ready_url(self, env: str) -> str:
        """The ready endpoint of a configured environment: its URL and health path."""
        environment = self.environments[env]
        return environment.url.rstrip("/") + (environment.health_path or self.health.path)

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

    @field_validator("release_types")
    @classmethod
    def _some_release_type(cls, value: dict) -> dict:
        if not value:
            raise ValueError("name at least one release type (or leave release_types out)")
        return value

    def versioning_rules(self) -> Versioning:
        """The version rules this config gives (scheme, tag patterns, bumps)."""
        return Versioning(
            scheme=self.versioning.scheme,
            tag=self.versioning.tag,
            rc_tag=self.versioning.rc_tag,
            bumps={name: t.bump for name, t in self.release_types.items()},
        )

    def release_type_names(self) -> list[str]:
        return list(self.release_types)

    def describe_release_type(self, name: str) -> str | None:
        """The release type's one line for the start screen (None: the config gives none)."""
        settings = self.release_types.get(name)
        return settings.description if settings is not None else None

    def check_release_type(self, name: str) -> str:
        """``name`` when it is a configured release type; else CockpitError listing them."""
        if name not in self.release_types:
            raise CockpitError(
                f"unknown release type {name!r} (release types: {', '.join(self.release_types)})"
            )
        return name

    def secret_values(self) -> list[str]:
        """The current values of the named secrets (empty ones left out), longest first."""
        values = {os.environ.get(name, "") for name in self.secrets}
        if self.github is not None:  # the GitHub token
            values.add(os.environ.get(self.github.token_env, ""))
        if self.notify.slack_webhook:  # a webhook URL is a credential
            values.add(self.notify.slack_webhook)
        if self.notify.email is not None and self.notify.email.password_env:
            values.add(os.environ.get(self.notify.email.password_env, ""))
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
