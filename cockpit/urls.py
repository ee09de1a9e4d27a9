"""Checking the http(s) URLs a team configures before anything is sent to them.

Owns ``check_http_url``: a URL in ``cockpit.yaml`` (an environment, a webhook) or on the
command line (``cockpit health --env NAME=URL``) is refused in words when no request could
be made to it — a scheme other than http(s), no host, a port outside 1..65535 or not a
number, a host name that is not valid (an ``xn--`` label that does not decode, a Unicode
name IDNA cannot encode, an empty or over-long label, characters no host name has, a bad
IP address), a space or control character — and, for an environment's base URL, a query
or fragment (the health path is appended to it). So a bad URL is a ``FILE:LINE`` error
from ``cockpit validate`` rather than a probe that cannot even start.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from cockpit.secrets import mask_userinfo

_IPV4_STYLE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$")
_HOST_CHARS = re.compile(r"^[A-Za-z0-9._-]+$")
_PORT = re.compile(r"^[0-9]{1,5}$")


def check_http_url(url: str, base: bool = False, secret: bool = False) -> str:
    """``url`` without a trailing slash; a ValueError saying what is wrong otherwise.

    ``base``: an environment's base URL, which may not carry a query or fragment.
    ``secret``: the whole URL is a credential (a webhook) and no message shows it; any
    other URL is shown with its userinfo masked (``http://ops:***@host``)."""
    url_shown = "the webhook URL (not shown: it is a credential)" if secret else None
    url_shown = url_shown or repr(mask_userinfo(url))
    try:
        parsed = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL"
        raise ValueError(f"{url_shown} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{url_shown} is not an http(s) URL (write it like https://example.com)")
    host, port = _host_and_port(parsed.netloc, url_shown)
    if port and not (_PORT.match(port) and 1 <= int(port) <= 65535):
        raise ValueError(f"{url_shown}: port {port!r} is not a number from 1 to 65535")
    _check_host(host, url_shown)
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValueError(f"{url_shown} contains a space or a control character")
    if base and ("?" in url or "#" in url):
        raise ValueError(
            f"{url_shown} has a query or fragment: the health path is appended to an "
            "environment's URL, so give only scheme, host, port and path"
        )
    return url.rstrip("/")


def _host_and_port(netloc: str, url_shown: str) -> tuple[str, str]:
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        host, closed, rest = hostport[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ValueError(f"{url_shown}: {hostport!r} is not a bracketed IPv6 address")
        return f"[{host}]", rest[1:]
    host, _, port = hostport.partition(":")
    return host, port


def _check_host(host: str, url_shown: str) -> None:
    if not host:
        raise ValueError(f"{url_shown} has no host name")
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{url_shown}: {host!r} is not a valid IPv6 address") from None
        return
    if _IPV4_STYLE.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"{url_shown}: {host!r} is not a valid IPv4 address") from None
        return
    name = host[:-1] if host.endswith(".") else host
    if name.isascii() and not _HOST_CHARS.match(name):
        raise ValueError(f"{url_shown}: host name {host!r} has characters a host name cannot have")
    for label in name.split("."):
        if not label or len(label) > 63:
            raise ValueError(
                f"{url_shown}: host name {host!r} has an empty label or one longer than 63 characters"
            )
    encoded = [label for label in name.split(".") if label.lower().startswith("xn--")]
    if name.isascii() and not encoded:
        return
    import idna  # httpx's own IDNA codec; only loaded for a name that needs it

    try:
        if not name.isascii():
            idna.encode(name.lower())
        for label in encoded:
            idna.decode(label)
    except UnicodeError:  # idna.IDNAError is one
        raise ValueError(
            f"{url_shown}: host name {host!r} is not a valid internationalised (IDNA) name"
        ) from None
