"""The DSP 2025-1 JSON-LD form of the catalogue: ``Catalog``, ``Dataset`` and ``CatalogError``.

The documents are written directly in the **compacted** form the DSP 2025-1 schemas require: an
``@context`` array holding only the DSP context URL; DSP terms for what the context defines
(``participantId``, ``service``, ``dataset``, ``distribution``, ``hasPolicy``, ``format``,
``accessService``, ``endpointURL``); ``dct:`` / ``dcat:`` compact IRIs for the other DCAT-AP
properties of those namespaces; **full IRIs** for the other vocabularies (FOAF, vCard, SPDX,
CSVW, DCAT-AP's ``dcatap:``) — the official context schema allows only strings in ``@context``,
so no prefix can be added for them. Every nested node is typed (``Dataset``, ``Distribution``,
``DataService``, ``Offer`` and the DCAT-AP classes), arrays that DSP requires non-empty are
omitted when empty, catalogue offers carry no ``target``. A dataset series is typed
``["Dataset", "dcat:DatasetSeries"]`` so that the ``Dataset`` terms apply to it.

Writing directly is what keeps a catalogue page fast (pyld takes tens of milliseconds per dataset);
the tests prove that the output is a fixed point of pyld's compaction with the DSP context, and
that its expansion reads back as the same model (:func:`catalog.dsp_read.catalog_from_dsp`).

The DSP form carries the model as it is; derived RDF statements (concept labels, the access URL
taken from the data service) are the RDF form's business (:mod:`catalog.rdf`). The EU file type of
a distribution is left out: DSP's ``format`` already is ``dct:format`` (the transfer format) and
the schema wants a single string there; ``dcat:mediaType`` says what is delivered.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from catalog.dsp_read import CatalogParseError, catalog_from_dsp
from catalog.dsp_writer import DspFormError, DspWriter, JsonObject, dsp_context
from catalog.model import Catalog, Dataset

__all__ = [
    "CatalogParseError",
    "DspFormError",
    "catalog_error",
    "catalog_from_dsp",
    "catalog_to_dsp",
    "dataset_to_dsp",
    "dsp_context",
]


def catalog_error(code: str | int, reasons: Iterable[str] = ()) -> JsonObject:
    """A ``CatalogError`` message; ``code`` is usually the HTTP status, ``reason`` omitted if
    empty (the schema has no minimum, but an empty array says nothing)."""
    body: JsonObject = {"@context": dsp_context(), "@type": "CatalogError", "code": str(code)}
    listed = [str(reason) for reason in reasons]
    if listed:
        body["reason"] = listed
    return body


def catalog_to_dsp(catalog: Catalog) -> JsonObject:
    """The DSP 2025-1 ``Catalog`` response body for ``catalog`` (one page of it, as given).

    Distributions name a data service of the catalogue by its id; any other service is inlined.
    Raises :class:`DspFormError` when the catalogue cannot be a valid DSP catalogue (no participant
    id, no data service, a dataset without offer or distribution, an offer with a ``target``…).
    """
    refs = {service.id for service in catalog.services}
    return DspWriter(refs).catalog(catalog, root=True)


def dataset_to_dsp(
    dataset: Dataset,
    *,
    service_refs: Collection[str] = (),
    context: bool = True,
    offers_required: bool = True,
) -> JsonObject:
    """The DSP 2025-1 ``Dataset`` response body (``context``: with its ``@context``).

    Data services are inlined in the distributions unless their id is in ``service_refs``.
    ``offers_required=False`` writes a dataset without offers (an empty ``hasPolicy``): not a
    valid DSP dataset, for an administrator's view of datasets the node offers to nobody.
    """
    node = DspWriter(frozenset(service_refs), offers_required=offers_required).dataset(dataset)
    return {"@context": dsp_context(), **node} if context else node
