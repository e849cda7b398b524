"""The official DCAT-AP 3.0.1 SHACL shapes (reference material), loaded offline for tests.

All the files of ``../shared/dcat-ap`` are used: ``dcat-ap-SHACL.ttl`` (the 3.0.1 release shapes)
and the ``html/shacl`` set (``shapes.ttl``, ``shapes_recommended.ttl``, ``range.ttl``,
``mdr-vocabularies.shape.ttl``, ``deprecateduris.ttl``). Two defects of the official files are
repaired in memory (the files stay byte-identical to the official ones):

* ``dcat-ap-SHACL.ttl`` lists two property shapes of ``dcat:DataServiceShape`` that it never
  defines (no ``sh:path``); pyshacl refuses such a shapes graph, so the dangling references are
  removed;
* ``mdr-vocabularies.shape.ttl`` requires checksum algorithms to match ``^https://spdx.org/rdf/terms``
  while the SPDX vocabulary (and DCAT-AP's own text: ``spdx:checksumAlgorithm_sha1``) is
  ``http://spdx.org/rdf/terms#``; the pattern is widened to ``^https?://spdx.org/rdf/terms``.

``owl:imports`` in ``deprecateduris.ttl`` is never followed.
"""

from __future__ import annotations

from rdflib import Graph, Literal
from rdflib.namespace import SH
from shared_reference import DCAT_AP, require

FILES = (
    "dcat-ap-SHACL.ttl",
    "shapes.ttl",
    "shapes_recommended.ttl",
    "range.ttl",
    "mdr-vocabularies.shape.ttl",
    "deprecateduris.ttl",
)
SPDX_PATTERN = "^https://spdx.org/rdf/terms"


def official_shapes() -> Graph:
    """The official shapes, repaired as described above."""
    folder = require(DCAT_AP)
    graph = Graph()
    for name in FILES:
        graph.parse(require(folder / name), format="turtle")
    for shape, predicate, property_shape in list(graph.triples((None, SH.property, None))):
        if (property_shape, SH.path, None) not in graph:
            graph.remove((shape, predicate, property_shape))
    for shape in list(graph.subjects(SH.pattern, Literal(SPDX_PATTERN))):
        graph.set((shape, SH.pattern, Literal("^https?://spdx.org/rdf/terms")))
    return graph
