"""Policies as management responses show them: the EDC management form (:func:`policies.to_edc`,
``odrl:`` terms), under :func:`response_context`.

The node stores policies in the DSP compact form, whose bare names (``permission``, ``action``)
are ODRL terms only under the DSP context. Placed as they are in a response compacted with the
EDC ``@vocab``, they would read as EDC terms (``edc:permission``) to a JSON-LD client. So offers
and agreements are shown like policy definitions: in the EDC form, which expands to the same
``odrl:`` IRIs under the response's context and is what a request body may carry back (a
counter-offer is the ``offer`` a negotiation shows, with a new ``@id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.jsonld import JsonLdProcessor, JsonObject
from connector.management.vocabulary import EDC_CONTEXT
from policies import PolicyError, dsp_context, edc_context, parse_policy, to_edc


def response_context() -> JsonObject:
    """The ``@context`` of responses carrying policies: EDC's, with the policy prefixes
    (``odrl``, ``etds``, ``dpv``)."""
    return {**EDC_CONTEXT, **edc_context()}


def edc_policy(processor: JsonLdProcessor, stored: Mapping[str, Any]) -> JsonObject:
    """A policy stored in the DSP form (an embedded node, or with its own ``@context``) in the
    EDC form, to place in a response compacted with :func:`response_context`.

    An agreement's ``timestamp`` (a DSP term, not ODRL) stays, as ``dspace:timestamp``. A policy
    this node cannot read (a peer's term unknown to this version) is shown as stored, with the
    DSP ``@context`` in the node itself: a JSON-LD client still reads its terms right."""
    try:
        policy = parse_policy(stored, processor=processor, context=dsp_context())
    except PolicyError:
        return {"@context": dsp_context(), **stored} if "@context" not in stored else dict(stored)
    shown = to_edc(policy, context=False)
    if "timestamp" in stored:
        shown["dspace:timestamp"] = stored["timestamp"]
    return shown
