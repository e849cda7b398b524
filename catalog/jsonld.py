"""Offline JSON-LD processing: pyld over contexts the project bundles. Nothing is ever fetched.

Every expansion and compaction gets its own context resolver with a fresh cache. pyld's default
resolver shares one process-wide cache keyed by URL, which (a) would let a context resolved once
outlive the loader that produced it and (b) is known to lose terms of an ``@import``-ed context (the
DSP 2025-1 context imports its ODRL profile) when several message types are processed in a row.

A context URL that is not registered is refused with :class:`UnknownContext`; callers turn that into
a 400 for the peer. Documents are size-checked by the HTTP layer before they reach this module.

Processing a context is most of the cost of expanding a small document (the DSP 2025-1 context
takes 5-10 ms, a message's own terms well under 1 ms), so each processor keeps the *active
context* made of the initial contexts and a document's top-level ``@context``, processed once per
distinct value (at most :data:`ACTIVE_CONTEXT_CACHE_SIZE` of them, none longer than
:data:`MAX_CACHED_CONTEXT_CHARS` as JSON). The type-scoped contexts of that active context (the
DSP 2025-1 context defines most terms per message type) are also processed once per processor
(:class:`_ScopedContexts`; pyld's own cache misses them every time, which made them half the cost
of expanding a message) when the document's top-level context names bundled contexts only: what
a request defines itself is never kept beyond the bounded active contexts. A document with no
``@context`` of its own below the top is expanded with a resolver kept for that active context
(one per thread), whose cache then holds only contexts the processor bundles or was configured
with; one that brings nested contexts is expanded with a fresh resolver, and none of its contexts
is kept. A top-level ``null`` context, or one wrapped in ``@context``, takes pyld's general path,
which checks them. Compaction keeps each compaction context processed the same way
(:class:`_CompactingProcessor`), and with it the inverse context pyld caches by the active
context's identifier: an EDC ``IdResponse`` took 0.32 ms to compact, now 0.11. Nor are resolvers
kept when a bundled context, or the document's own top-level context, ``@import``s another: pyld
caches an imported context merged with the first context that imported it and hands that merge
to the next importer (the bundled DSP context writes its ODRL profile out in place for that
reason); for the same reason compaction caches nothing then.

Expanding a term or an IRI against one of those frozen active contexts gives the same result
every time, a third of the cost of expanding a message once its contexts are kept; those results
are kept too (none of a string longer than :data:`MAX_CACHED_IRI_CHARS`, or expanded to one
longer than :data:`MAX_CACHED_IRI_RESULT_CHARS`). Under bundled contexts
only, :class:`_ScopedContexts` keeps them for every active context met (at most
:data:`EXPANDED_IRI_CACHE_SIZE`); under a request's own top-level context (a management request
with an inline context), only those of that one kept active context, with it (at most
:data:`TOP_CONTEXT_IRI_CACHE_SIZE` per context).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, cast

from pyld import jsonld
from pyld.context_resolver import ContextResolver

JsonObject = dict[str, Any]

ACTIVE_CONTEXT_CACHE_SIZE = 64
SCOPED_CONTEXT_CACHE_SIZE = 256
MAX_CACHED_CONTEXT_CHARS = 8_192
EXPANDED_IRI_CACHE_SIZE = 4_096
TOP_CONTEXT_IRI_CACHE_SIZE = 128
MAX_CACHED_IRI_RESULT_CHARS = 512
"""With :data:`MAX_CACHED_IRI_CHARS`, what the kept expansions may hold: about 3 MB for the
bundled contexts' and 6 MB for the 64 kept request contexts', whatever the requests."""
MAX_CACHED_IRI_CHARS = 256
"""Longer contexts (as JSON, with the initial ones) are processed each time, not kept: a request
may bring its own inline context, and a kept one costs about 15 times its JSON in memory
(64 kept contexts of 64 KB held 55 MB; of 8 KB, 7 MB). Bundled contexts are named by URL, and
the management API's are a few hundred characters."""
# pyld's expansion defaults, for the path that calls its expansion step with a cached context.
_EXPAND_OPTIONS = {
    "isFrame": False,
    "keepFreeFloatingNodes": False,
    "extractAllScripts": False,
    "processingMode": "json-ld-1.1",
}


class JsonLdProcessingError(ValueError):
    """The document is not valid JSON-LD (or uses a construct this node refuses)."""


class UnknownContext(JsonLdProcessingError):
    """The document refers to a remote ``@context`` this node does not bundle."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"unknown @context {url!r}: this node never fetches remote contexts; "
            "use one of the contexts it publishes or an inline context"
        )
        self.url = url


def load_bundled_context(package: str, filename: str) -> JsonObject:
    """Read a JSON-LD context shipped as package data."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    document = json.loads(text)
    if not isinstance(document, dict) or "@context" not in document:
        raise JsonLdProcessingError(f"{package}/{filename} is not a JSON-LD context document")
    return document


def copy_json(value: Any) -> Any:
    """A deep copy of JSON data: dicts and lists copied, anything else shared (several times
    faster than :func:`copy.deepcopy`, which keeps a memo for shared and cyclic objects JSON
    cannot have)."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


def _has_key(value: Any, key: str) -> bool:
    """Whether an object inside ``value`` has the entry ``key``."""
    if isinstance(value, dict):
        return key in value or any(_has_key(item, key) for item in value.values())
    if isinstance(value, list):
        return any(_has_key(item, key) for item in value)
    return False


class _Bounded:
    """A thread-safe map that keeps at most ``size`` entries, dropping the oldest first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        return self._entries.get(key)  # one dict lookup: atomic

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            if len(self._entries) >= self._size:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)


class _ScopedContexts(_Bounded):
    """Type-scoped contexts applied to active contexts, each pair processed once.

    pyld processes a type-scoped context (``propagate`` false) against a fresh copy of the
    active context, with a fresh cache key each time, so its own cache never hits: every
    message type's terms were processed anew for every message. Active contexts are frozen
    once processed (pyld's ``frozendict``), and the ones met while expanding with a cached
    active context are the cached one and those derived from it here: keyed by identity (the
    entry holds both objects, so neither identity can be reused while it is kept), the result
    is the same frozen context pyld would build again.
    """

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.iris = _Bounded(EXPANDED_IRI_CACHE_SIZE)
        """Terms and IRIs expanded against frozen active contexts (pyld's ``_expand_iri`` outside
        context processing), by identity of the context, with the context in the entry as for
        the scoped contexts."""

    def processor(self, **kwargs: Any) -> jsonld.JsonLdProcessor:
        """A pyld processor for expansion that takes type-scoped contexts and expanded IRIs from
        here."""
        return _CachingProcessor(self, iris=self.iris, **kwargs)

    def applied(self, key: tuple[Any, ...], active: Any, local: Any) -> Any:
        """The result kept for ``local`` applied to ``active`` (``key``), or None."""
        entry = self.get(key)
        if entry is not None and entry[0] is active and entry[1] is local:
            return entry[2]
        return None

    def keep(self, key: tuple[Any, ...], active: Any, local: Any, result: Any) -> None:
        self.put(key, (active, local, result))


class _IriKeeping(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """A pyld processor that keeps terms and IRIs expanded against the frozen active contexts
    :meth:`_iris_for` gives a map for (each entry holds its context: see
    :class:`_ScopedContexts`)."""

    def _iris_for(self, active_ctx: Any) -> _Bounded | None:
        """Where expansions against ``active_ctx`` are kept; None: not kept (the subclasses
        say which contexts)."""
        return None

    def _expand_iri(  # noqa: PLR0917 - pyld's signature
        self,
        active_ctx: Any,
        value: Any,
        base: Any = None,
        vocab: bool = False,
        local_ctx: Any = None,
        defined: Any = None,
    ) -> Any:
        iris = None
        if (
            local_ctx is None  # else context processing: it may define terms as it goes
            and type(active_ctx) is not dict  # a dict is not frozen: pyld may still change it
            and type(value) is str
            and len(value) <= MAX_CACHED_IRI_CHARS
            and (base is None or type(base) is str)
        ):
            iris = self._iris_for(active_ctx)
        if iris is None:
            return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        key = (id(active_ctx), value, base, vocab)
        entry = iris.get(key)
        if entry is not None and entry[0] is active_ctx:
            return entry[1]
        result = super()._expand_iri(active_ctx, value, base, vocab)
        if result is None or len(result) <= MAX_CACHED_IRI_RESULT_CHARS:
            iris.put(key, (active_ctx, result))  # (a context's prefix may be long)
        return result


class _TopContextProcessor(_IriKeeping):
    """Expansion under a request's own top-level context, whose processed active context the
    processor keeps (:class:`_ActiveContexts`): terms and IRIs expanded against that one context
    are kept with it (:attr:`JsonLdProcessor._top_iris`), not those of contexts met below it."""

    def __init__(self, top: Any, iris: _Bounded, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._top = top
        self._iris = iris

    def _iris_for(self, active_ctx: Any) -> _Bounded | None:
        return self._iris if active_ctx is self._top else None


class _CachingProcessor(_IriKeeping):
    """A pyld processor that takes type-scoped contexts from a :class:`_ScopedContexts`."""

    def __init__(
        self, scoped: _ScopedContexts, *, iris: _Bounded | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._scoped: _ScopedContexts | None = scoped
        # Only for expansion under bundled contexts (their active contexts are few): a
        # compaction context may be a request's, which an entry would keep alive.
        self._iris = iris

    def _iris_for(self, active_ctx: Any) -> _Bounded | None:
        return self._iris

    def _process_context(  # noqa: PLR0917 - pyld's signature
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: dict[str, Any],
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        scoped = self._scoped
        if (
            scoped is None
            or propagate
            or cycles is not None
            or not validate_scoped
            or type(active_ctx) is dict
        ):
            return super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate,
                validate_scoped, cycles,
            )  # fmt: skip
        key = (
            id(active_ctx),
            id(local_ctx),
            override_protected,
            options.get("base"),
            options.get("processingMode"),
        )
        result = scoped.applied(key, active_ctx, local_ctx)
        if result is None:
            result = super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate=False
            )
            if type(result) is not dict:  # frozen: pyld never changes it (an empty one is not)
                scoped.keep(key, active_ctx, local_ctx, result)
        return result


class _CompactingProcessor(_CachingProcessor):
    """A pyld processor for compaction that processes each compaction context once: pyld's
    ``compact`` processes it against a fresh initial context every time, and builds its inverse
    context again (that one is cached by the active context's identifier, which is then new)."""

    def __init__(self, scoped: _ScopedContexts, active: _ActiveContexts) -> None:
        super().__init__(scoped)
        self._active = active

    def process_context(self, active_ctx: Any, local_ctx: Any, options: dict[str, Any]) -> Any:
        # Called by ``compact`` only (expansion is skipped), with the initial context.
        key = _context_key([local_ctx, options.get("base"), options.get("processingMode")])
        if key is None:  # not kept: nor are the type-scoped contexts met under it
            self._scoped = None
            return super().process_context(active_ctx, local_ctx, options)
        processed = self._active.get(key)
        if processed is None:
            processed = super().process_context(active_ctx, local_ctx, options)
            self._active.put(key, processed)
        return processed


class _ActiveContexts(_Bounded):
    """Processed active contexts by the JSON of what made them (:func:`_context_key`)."""


def _context_key(contexts: Any) -> str | None:
    """The cache key of ``contexts`` (their JSON); None when they are not cached (not JSON, or
    longer than :data:`MAX_CACHED_CONTEXT_CHARS`)."""
    try:
        key = json.dumps(contexts, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return key if len(key) <= MAX_CACHED_CONTEXT_CHARS else None


class JsonLdProcessor:
    """Expands and compacts documents against a fixed set of context documents (URL → document)."""

    def __init__(self, contexts: Mapping[str, JsonObject]) -> None:
        self._contexts = {url: copy.deepcopy(doc) for url, doc in contexts.items()}
        # JSON of the contexts → pyld's active context: for expansion, and for compaction
        self._active = _ActiveContexts(ACTIVE_CONTEXT_CACHE_SIZE)
        # per thread: JSON of the contexts → the resolver that expanded under that active context
        self._resolvers = threading.local()
        # Not when a bundled context imports another: pyld would hand one importer's merge to
        # the next.
        self._reuse_resolvers = not _has_key(self._contexts, "@import")
        self._scoped = _ScopedContexts(SCOPED_CONTEXT_CACHE_SIZE)
        self._compacting = _ActiveContexts(ACTIVE_CONTEXT_CACHE_SIZE)
        # JSON of the contexts → (that active context, the terms and IRIs expanded against it)
        self._top_iris = _Bounded(ACTIVE_CONTEXT_CACHE_SIZE)

    @property
    def context_urls(self) -> frozenset[str]:
        return frozenset(self._contexts)

    def with_contexts(self, contexts: Mapping[str, JsonObject]) -> JsonLdProcessor:
        """A processor that also knows ``contexts``."""
        return JsonLdProcessor({**self._contexts, **contexts})

    def _load(self, url: str, _options: Mapping[str, Any] | None = None) -> JsonObject:
        document = self._contexts.get(url)
        if document is None:
            raise jsonld.JsonLdError(
                f"unknown context {url}", "jsonld.LoadDocumentError", {"url": url}
            )
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(document)}

    def _options(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        options: dict[str, Any] = {
            "documentLoader": self._load,
            "contextResolver": ContextResolver({}, self._load),
            "base": "",
        }
        if extra:
            options.update(extra)
        return options

    def expand(
        self, document: Any, *, expand_context: Any = None, strict: bool = False
    ) -> list[JsonObject]:
        """Expand ``document``; ``expand_context`` applies before the document's own context.

        Relative identifiers (``"asset-1"``) stay relative: no base IRI is invented for them.
        JSON-LD drops properties its context does not define; with ``strict`` that is an error
        naming them (for documents where an ignored property would change the meaning).
        """
        initial: list[Any] = [{"@base": None}]
        if expand_context is not None:
            initial.append(expand_context)
        extra = {"expandContext": initial}
        dropped: list[str] = []

        def on_dropped(name: str | None) -> None:
            if name is not None:  # None: a term the context maps to null on purpose
                dropped.append(name)

        try:
            dropping = on_dropped if strict else jsonld.noop
            result = self._expand_with_cached_context(dropping, document, initial)
            if result is None:
                pyld = jsonld.JsonLdProcessor(on_property_dropped=dropping)
                result = pyld.expand(copy.deepcopy(document), self._options(extra))
        except jsonld.JsonLdError as exc:
            raise self._translate(exc) from None
        except (TypeError, KeyError, AttributeError, IndexError, ValueError, OverflowError) as exc:
            raise JsonLdProcessingError(f"malformed JSON-LD: {exc}") from None
        if dropped:
            names = ", ".join(sorted(set(dropped))[:10])
            raise JsonLdProcessingError(f"properties the context does not define: {names}")
        return cast(list[JsonObject], result)

    def _expand_with_cached_context(
        self, on_dropped: Callable[..., Any], document: Any, initial: list[Any]
    ) -> list[Any] | None:
        """``document`` expanded by pyld against the cached active context of ``initial``
        and the document's top-level ``@context`` (``on_dropped``: pyld's callback for
        properties the context does not define); None when that context is not cached (the
        caller takes pyld's general path)."""
        if not isinstance(document, dict):
            return None
        own = [document["@context"]] if "@context" in document else []
        found = self._active_context(initial, own)
        if found is None:
            return None
        context_key, active = found
        body = {key: copy_json(value) for key, value in document.items() if key != "@context"}
        options = self._options(_EXPAND_OPTIONS)
        pyld = jsonld.JsonLdProcessor(on_property_dropped=on_dropped)
        if (
            self._reuse_resolvers
            and not _has_key(body, "@context")
            and not _has_key(own, "@import")
        ):
            options["contextResolver"] = self._resolver(context_key)
            if self._bundled_only(own):
                # Only contexts the processor bundles (none of the request's): their
                # type-scoped contexts are processed once too.
                pyld = self._scoped.processor(on_property_dropped=on_dropped)
            else:
                pyld = _TopContextProcessor(
                    active, self._top_iris_for(context_key, active), on_property_dropped=on_dropped
                )
        expanded = pyld._expand(active, None, body, options)
        if isinstance(expanded, dict) and "@graph" in expanded and len(expanded) == 1:
            expanded = expanded["@graph"]
        elif expanded is None:
            expanded = []
        return cast(list[Any], jsonld.JsonLdProcessor.arrayify(expanded))

    def _top_iris_for(self, key: str, active: Any) -> _Bounded:
        """The terms and IRIs kept for the active context ``active`` (cached under ``key``):
        as many maps as active contexts are kept, each holding only its own context."""
        entry = self._top_iris.get(key)
        if entry is not None and entry[0] is active:
            return cast(_Bounded, entry[1])
        iris = _Bounded(TOP_CONTEXT_IRI_CACHE_SIZE)
        self._top_iris.put(key, (active, iris))
        return iris

    def _bundled_only(self, own: list[Any]) -> bool:
        """Whether the top-level context ``own`` (it, or nothing) names bundled contexts only."""
        for context in own:
            for item in context if isinstance(context, list) else [context]:
                if not isinstance(item, str) or item not in self._contexts:
                    return False
        return True

    def _resolver(self, key: str) -> ContextResolver:
        """This thread's resolver for the cached active context ``key``."""
        resolvers: dict[str, ContextResolver] | None = getattr(self._resolvers, "by_key", None)
        if resolvers is None:
            resolvers = self._resolvers.by_key = {}
        resolver = resolvers.get(key)
        if resolver is None:
            if len(resolvers) >= ACTIVE_CONTEXT_CACHE_SIZE:
                del resolvers[next(iter(resolvers))]
            resolver = resolvers[key] = ContextResolver({}, self._load)
        return resolver

    def _active_context(self, initial: list[Any], own: list[Any]) -> tuple[str, Any] | None:
        """pyld's active context after ``initial`` then the document's top-level context, if it
        has one (``own``: it, or nothing; processed one after the other, as pyld's general path
        does), once per distinct pair, with its cache key; None for contexts that are not
        cached."""
        for context in own:
            if context is None or (isinstance(context, dict) and "@context" in context):
                # A top-level null (which pyld's general path checks against protected terms) or
                # a context wrapped in "@context": left to the general path, which says what is
                # wrong.
                return None
        key = _context_key([initial, own])
        if key is None:
            return None
        active = self._active.get(key)
        if active is not None:
            return key, active
        pyld = jsonld.JsonLdProcessor()
        options = self._options(_EXPAND_OPTIONS)
        active = pyld.process_context(pyld._get_initial_context(options), initial, options)
        for context in own:  # null too: it resets to the initial context
            active = pyld.process_context(active, context, options)
        if active.get("previousContext") is not None:
            # "@propagate": false. Expansion reverts such a context at the first node it meets,
            # which the general path does not do for the document's own context.
            return None
        self._active.put(key, active)
        return key, active

    def compact(self, document: Any, context: Any) -> JsonObject:
        """Compact ``document`` with ``context`` (a URL, an inline context or a list of them).

        The document is expanded first by :meth:`expand`, so relative identifiers stay relative.
        """
        expanded = self.expand(document)
        options = self._options({"skipExpansion": True})
        compactor = jsonld.JsonLdProcessor()
        if self._reuse_resolvers and not _has_key(context, "@import"):
            # Not when a context imports another (pyld's merge, see the module's docstring).
            compactor = _CompactingProcessor(self._scoped, self._compacting)
        try:
            result = compactor.compact(expanded, context, options)
        except jsonld.JsonLdError as exc:
            raise self._translate(exc) from None
        except (TypeError, KeyError, AttributeError, IndexError, ValueError, OverflowError) as exc:
            raise JsonLdProcessingError(f"malformed JSON-LD: {exc}") from None
        return cast(JsonObject, result)

    @staticmethod
    def _translate(exc: Exception) -> JsonLdProcessingError:
        """Turn a pyld error (possibly nested) into a readable one, naming an unknown context."""
        seen: BaseException | None = exc
        for _ in range(32):  # pyld nests its errors in ``details`` or as the ``__cause__``
            if seen is None:
                break
            details = getattr(seen, "details", None)
            if isinstance(details, dict):
                url = details.get("url")
                if isinstance(url, str):
                    return UnknownContext(url)
                cause = details.get("cause")
                seen = cause if isinstance(cause, Exception) else seen.__cause__
            else:
                seen = seen.__cause__
        message = exc.args[0] if exc.args else "invalid JSON-LD"
        return JsonLdProcessingError(f"invalid JSON-LD: {message}")
