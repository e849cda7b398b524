"""Benchmark of JSON-LD expansion of DSP messages (results go to docs/benchmarks.md, section
"Contract negotiation").

Every DSP message a node receives, and the answer to its first contract request, is expanded
against the bundled DSP 2025-1 context before it is read (``catalog.jsonld.JsonLdProcessor``).
This measures the CPU time one expansion takes, per message type of a negotiation, on a processor
that has expanded each type before (a node's steady state): the median of ``--runs`` runs of
``--repeat`` expansions each, the types interleaved.

Usage::

    .venv/bin/python bench/bench_jsonld.py --runs 7 --repeat 2000
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from typing import Any

from catalog.contexts import DSPACE_CONTEXT_URL, dsp_processor

POLICY: dict[str, Any] = {
    "profile": "https://w3id.org/etds/policy",
    "target": "sustainable-tourism-indicators",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {
                    "leftOperand": "https://w3id.org/etds/policy#membership",
                    "operator": "eq",
                    "rightOperand": "active",
                }
            ],
        }
    ],
}
PIDS = {
    "providerPid": "urn:uuid:6c4a66d5-347b-48d6-9555-49e7b6a89d9b",
    "consumerPid": "urn:uuid:77bc9194-5646-42a5-aadb-29b151c4f548",
}
MESSAGES: list[dict[str, Any]] = [
    {
        "@context": [DSPACE_CONTEXT_URL],
        "@type": "ContractRequestMessage",
        "consumerPid": PIDS["consumerPid"],
        "offer": {"@id": "urn:etds:offer:cd:asset", "@type": "Offer", **POLICY},
        "callbackAddress": "https://consumer.example/protocol/2025-1",
    },
    {
        "@context": [DSPACE_CONTEXT_URL],
        "@type": "ContractNegotiation",
        **PIDS,
        "state": "REQUESTED",
    },
    {
        "@context": [DSPACE_CONTEXT_URL],
        "@type": "ContractAgreementMessage",
        **PIDS,
        "agreement": {
            "@id": "urn:uuid:84c27705-298c-4b0c-ab51-780fba0d8f23",
            "@type": "Agreement",
            **POLICY,
            "assigner": "urn:etds:participant:b",
            "assignee": "urn:etds:participant:a",
            "timestamp": "2026-12-07T03:24:25.092827Z",
        },
    },
    {"@context": [DSPACE_CONTEXT_URL], "@type": "ContractAgreementVerificationMessage", **PIDS},
    {
        "@context": [DSPACE_CONTEXT_URL],
        "@type": "ContractNegotiationEventMessage",
        **PIDS,
        "eventType": "FINALIZED",
    },
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2000)
    options = parser.parse_args()
    processor = dsp_processor()
    for message in MESSAGES:
        processor.expand(message, strict=True)
    samples: dict[str, list[float]] = {message["@type"]: [] for message in MESSAGES}
    for _ in range(options.runs):
        for message in MESSAGES:
            started = time.process_time()
            for _ in range(options.repeat):
                processor.expand(message, strict=True)
            elapsed = time.process_time() - started
            samples[message["@type"]].append(1e6 * elapsed / options.repeat)
    print(f"- Python {platform.python_version()}, {options.runs} runs of {options.repeat}")
    print()
    print("| message | CPU µs per expansion (median) |")
    print("|---|---:|")
    for name, values in samples.items():
        print(f"| {name} | {statistics.median(values):.0f} |")


if __name__ == "__main__":
    main()
