"""Outbound URL checks: scheme, credentials, and where the host resolves."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable

import pytest

from connector.http.outbound import (
    OutboundRefused,
    PublicAddressResolver,
    check_outbound_form,
    check_outbound_url,
    check_outbound_url_async,
)
from connector.settings import SecuritySettings

PRODUCTION = SecuritySettings(callback_allow_hosts=[], allow_http_callbacks=False)
DEVELOPMENT = SecuritySettings()


def _resolving_to(*addresses: str):  # type: ignore[no-untyped-def]
    def resolver(_host: str, _port: int) -> Iterable[str]:
        return addresses

    return resolver


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.4", "169.254.169.254", "::1",
     "fe80::1", "0.0.0.0", "224.0.0.1", "::ffff:127.0.0.1", "fd00::1", "100.64.0.1",
     # IPv6 forms that carry a private IPv4 address to its host: NAT64, 6to4, IPv4-compatible
     "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:a00:1::", "::127.0.0.1",
     "::10.0.0.1", "fe80::1%eth0", "64:ff9b:1::a9fe:a9fe", "64:ff9b:1::808:808", "fec0::1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(OutboundRefused, match="loopback, private or link-local"):
        check_outbound_url(
            "https://partner.example/cb", PRODUCTION, resolver=_resolving_to(address)
        )


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(OutboundRefused):
        check_outbound_url(
            "https://partner.example/", PRODUCTION, resolver=_resolving_to("8.8.8.8", "10.0.0.1")
        )


def test_public_https_is_accepted() -> None:
    url = "https://partner.example:8443/dsp"
    assert check_outbound_url(url, PRODUCTION, resolver=_resolving_to("8.8.8.8")) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://partner.example/", "https"),
        ("ftp://partner.example/", "https"),
        ("https://user:pw@partner.example/", "credentials"),
        ("https:///nohost", "no host"),
        ("https://partner.example:99999/", "not a valid URL"),
    ],
)
def test_malformed_or_unsafe_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(OutboundRefused, match=message):
        check_outbound_url(url, PRODUCTION, resolver=_resolving_to("8.8.8.8"))


def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(OutboundRefused, match="does not resolve"):
        check_outbound_url("https://nowhere.invalid/", PRODUCTION, resolver=_resolving_to())


def test_allow_list_and_http_in_development() -> None:
    assert check_outbound_url("http://127.0.0.1:8181/cb", DEVELOPMENT, resolver=_resolving_to())
    with pytest.raises(OutboundRefused):
        check_outbound_url("http://10.0.0.5/cb", DEVELOPMENT, resolver=_resolving_to("10.0.0.5"))


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2001:4860::8888"])
def test_ipv6_forms_of_public_addresses_are_accepted(address: str) -> None:
    url = "https://partner.example/"
    assert check_outbound_url(url, PRODUCTION, resolver=_resolving_to(address)) == url


@pytest.mark.parametrize(
    ("listed", "called"),
    [
        ("bücher.internal", "https://xn--bcher-kva.internal/"),
        ("xn--bcher-kva.internal", "https://BÜCHER.internal/"),
        ("Partner.Internal", "https://partner.internal/"),
        ("[fd00::5]", "https://[fd00::5]/"),
    ],
)
def test_allow_list_entries_match_every_spelling_of_a_host(listed: str, called: str) -> None:
    # The resolver of the peer transport sees the ASCII (IDNA) form httpx sends; the check must
    # compare the same way, or the two would disagree about one host.
    security = SecuritySettings(callback_allow_hosts=[listed], allow_http_callbacks=False)
    assert check_outbound_url(called, security, resolver=_resolving_to("10.0.0.5")) == called


def test_the_connect_time_resolver_works_on_every_event_loop() -> None:
    resolver = PublicAddressResolver(DEVELOPMENT)  # lists localhost
    for _ in range(2):  # one asyncio.run each: the second loop is a new one
        found = asyncio.run(resolver.resolve("localhost", 80))
        assert found
        assert {result["host"] for result in found} <= {"127.0.0.1", "::1"}
    with pytest.raises(OSError, match="no public address"):
        asyncio.run(PublicAddressResolver(PRODUCTION).resolve("localhost", 80))


def test_the_event_loops_check_resolves_on_a_thread() -> None:
    """From the event loop a slow DNS answer for a name a peer chose must not stall the node:
    the name is resolved on a thread; the same refusals as the blocking check."""
    threads: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        threads.append(threading.current_thread().name)
        return ["10.0.0.5"] if host == "internal.example" else ["93.184.216.34"]

    async def main() -> str:
        with pytest.raises(OutboundRefused, match="private"):
            await check_outbound_url_async(
                "https://internal.example/dsp", PRODUCTION, resolver=resolver
            )
        with pytest.raises(OutboundRefused, match="https"):
            await check_outbound_url_async("ftp://example.org/", PRODUCTION, resolver=resolver)
        return await check_outbound_url_async(
            "https://example.org/dsp", PRODUCTION, resolver=resolver
        )

    assert asyncio.run(main()) == "https://example.org/dsp"
    assert len(threads) == 2
    assert threading.main_thread().name not in threads


def test_the_event_loops_check_does_not_resolve_an_allowed_host() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError("an allowed host is not resolved")

    url = "http://localhost:8080/dsp"
    assert asyncio.run(check_outbound_url_async(url, DEVELOPMENT, resolver=resolver)) == url


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://peer.example/dsp", None),  # a name: left to the check that may resolve
        ("https://93.184.216.34/dsp", None),
        ("https://127.0.0.1/dsp", "loopback, private"),
        ("https://[fe80::1%25eth0]/dsp", "loopback, private"),
        ("https://[::ffff:10.0.0.1]/dsp", "loopback, private"),
        ("http://peer.example/dsp", "https"),
        ("https://user:secret@peer.example/", "credentials"),
        ("", "https"),
    ],
)
def test_the_form_check_needs_no_dns(
    url: str, refused: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dns(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("no name resolution")

    monkeypatch.setattr("socket.getaddrinfo", no_dns)
    if refused is None:
        assert check_outbound_form(url, PRODUCTION) == url
    else:
        with pytest.raises(OutboundRefused, match=refused):
            check_outbound_form(url, PRODUCTION)
