"""``cockpit health``: probe the ready endpoints from the command line.

Owns resolving which environments to probe (``--env NAME=URL`` or the config),
probing them all ``--count`` times (``health.interval`` apart), and printing a
table or the documented JSON list. Exit 0 only when every environment is READY;
1 otherwise, with each reason on stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys

from pydantic import ValidationError

from cockpit.config import Config, Environment
from cockpit.errors import CockpitError
from cockpit.monitor import EnvHealth
from cockpit.probe import READY, make_client, probe
from cockpit.secrets import mask_userinfo


def parse_env_args(pairs: list[str]) -> dict[str, str]:
    """``NAME=URL`` pairs to a mapping; bad ones are a CockpitError naming the pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, url = pair.partition("=")
        if not sep or not name.strip():
            raise CockpitError(
                f"--env {mask_userinfo(pair)!r}: write it as NAME=URL (like staging=https://staging.example.com)"
            )
        try:
            out[name.strip()] = Environment(url=url.strip()).url
        except ValidationError as exc:
            message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise CockpitError(f"--env {name.strip()}: {message}") from None
    return out


async def probe_all(envs: dict[str, str], config: Config, count: int) -> list[EnvHealth]:
    """Probe each ready URL (``envs``: name → the endpoint itself) ``count`` times."""
    settings = config.health
    healths = [
        EnvHealth(name, url, settings.window, settings.p95_budget * 1000)
        for name, url in envs.items()
    ]
    clients = [make_client(settings.timeout) for _ in healths]
    try:
        for round_no in range(count):
            samples = await asyncio.gather(
                *(
                    probe(client, h.name, h.url, settings.timeout)
                    for client, h in zip(clients, healths, strict=True)
                )
            )
            for h, sample in zip(healths, samples, strict=True):
                h.add(sample)
            if round_no + 1 < count:
                await asyncio.sleep(settings.interval)
    finally:
        for client in clients:
            await client.aclose()
    return healths


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}ms"


def print_table(healths: list[EnvHealth], budget_ms: float) -> None:
    print(
        f"{'ENV':<12} {'STATE':<9} {'HTTP':<5} {'LATENCY':>8} {'P50':>7} {'P95':>7}  CHECKS / ERROR"
    )
    for h in healths:
        last = h.last
        assert last is not None
        detail = ", ".join(f"{k}={v}" for k, v in last.dependencies.items()) or ""
        if h.reason:
            detail = h.reason + (f" ({detail})" if detail else "")
        print(
            f"{h.name:<12} {h.state:<9} {last.http_status or '—'!s:<5} {_ms(last.latency_ms):>8} "
            f"{_ms(h.p50):>7} {_ms(h.p95):>7}  {detail}"
        )
    print(f"p95 budget {budget_ms:.0f}ms")


def run_health(config: Config, env_args: list[str], count: int, as_json: bool) -> int:
    if count < 1:
        raise CockpitError("--count must be at least 1")
    if env_args:
        path = config.health.path
        envs = {n: url.rstrip("/") + path for n, url in parse_env_args(env_args).items()}
    else:
        envs = {n: config.ready_url(n) for n in config.environments}
    if not envs:
        raise CockpitError(
            "no environments: give --env NAME=URL or configure 'environments' in cockpit.yaml"
        )
    healths = asyncio.run(probe_all(envs, config, count))
    if as_json:
        doc = []
        for h in healths:
            s = h.summary()
            doc.append(
                {
                    k: s[k]
                    for k in ("env", "url", "state", "http_status", "latency_ms", "error", "checks")
                }
                | {"reason": s["reason"], "p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"]}
            )
        print(json.dumps(doc, indent=2))
    else:
        print_table(healths, config.health.p95_budget * 1000)
    bad = [h for h in healths if h.state != READY]
    for h in bad:
        print(
            f"{h.name} is {h.state}: {h.reason or 'no answer'} ({mask_userinfo(h.url)})",
            file=sys.stderr,
        )
    return 1 if bad else 0
