"""The demo scenario (``make demo``): a national tourism agency shares its datasets in a small
dataspace on this machine.

1. sample data: the campsite booking barometer, the sustainable tourism indicators, visitor
   presence (reused when already generated);
2. the dataspace: keys, an authority, three registered participants — the national agency
   (provider), a regional agency of Occitanie (consumer, region of competence FRJ) and a tour
   operator (a company);
3. the provider's node: the three datasets as assets, the example usage policies, one contract
   definition per dataset;
4. the regional agency's node fetches the provider's catalogue over the Dataspace Protocol (with
   its own OAuth token and DPoP proofs) and searches it;
5. the tour operator asks for the same catalogue: the datasets reserved for public agencies are
   not in what it sees;
6. the regional agency negotiates a contract for the booking barometer over the Dataspace
   Protocol: the provider's node agrees because its contract policy allows it (a regional agency,
   for official statistics), both nodes keep the agreement; the same request without the purpose
   the policy requires is terminated, with the policy's reasons;
7. the tour operator sends a contract request for the barometer's offer anyway: refused, the
   access policy guards contract requests as it guards the catalogue.

Every process runs on 127.0.0.1 and is stopped at the end. Transfer comes next in the roadmap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from connector.identity import keys
from connector.identity.auth import DataspaceAuth
from connector.identity.client import TokenClient
from etds_examples.authorityproc import run_authority
from etds_examples.barometer import generate_barometer
from etds_examples.dataspace import LocalDataspace, Member
from etds_examples.indicators import generate_indicators
from etds_examples.nodeproc import RunningService, free_port, run_node, stopped_cleanly
from etds_examples.presence import generate_presence
from etds_examples.report import GenerationReport

ASSET_FILES = {"barometer": "booking-barometer", "indicators": "sustainable-tourism-indicators",
               "presence": "visitor-presence"}  # fmt: skip
POLICIES = Path(__file__).resolve().parents[1] / "policies"
DATA_FORMAT = 2  # bump when a generator's output changes, so the demo regenerates its data
API_KEY = "demo-administrator-key"
PROVIDER = Member("did:web:atout-france.demo", "Atout France (demo)", "national_agency")
REGION = Member("did:web:occitanie.demo", "Comité régional du tourisme d'Occitanie (demo)",
                "regional_agency", nuts=("FRJ",))  # fmt: skip
COMPANY = Member("did:web:tour-operator.demo", "Voyages Exemple SA (demo)", "company")
BAROMETER = ASSET_FILES["barometer"]
EDC_CONTEXT = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}
NEGOTIATIONS = "/management/v3/contractnegotiations"
OFFICIAL_STATISTICS = "https://w3id.org/dpv#ProvideOfficialStatistics"
NEGOTIATION_SECONDS = 60


def _dataset(
    console: Console, folder: Path, marker: str, generate: Callable[[Path], GenerationReport]
) -> None:
    """Generate into ``folder`` unless a previous run with the same parameters finished there."""
    done = folder / ".generated"
    marker = f"{marker} format={DATA_FORMAT}"
    if done.is_file() and done.read_text() == marker:
        console.print(f"  {folder.name}: reusing {folder}")
        return
    shutil.rmtree(folder, ignore_errors=True)
    report = generate(folder)
    done.write_text(marker)
    console.print(
        f"  {report.dataset}: {report.rows:,} rows, {report.bytes_written / 1e6:.1f} MB "
        f"in {report.seconds:.1f} s"
    )


def generate_data(console: Console, data: Path, *, rows: int, seed: int) -> None:
    console.rule("[bold]1. Sample data")
    _dataset(
        console,
        data / "barometer",
        f"barometer rows={rows} weeks=2 seed={seed}",
        lambda out: generate_barometer(out, seed=seed, rows=rows, weeks=2),
    )
    _dataset(
        console,
        data / "indicators",
        f"indicators years=3 seed={seed}",
        lambda out: generate_indicators(out, seed=seed, years=3),
    )
    _dataset(
        console,
        data / "presence",
        f"presence days=14 seed={seed}",
        lambda out: generate_presence(out, seed=seed, days=14),
    )


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"{what} failed ({response.status_code}): {response.text}")
    return response.json() if response.content else None


def _put_or_post(client: httpx.Client, path: str, document: dict[str, Any]) -> None:
    response = client.post(path, json=document)
    if response.status_code == 409:  # a second run of the demo: replace
        identifier = document["@id"]
        replace = path if path.endswith("/assets") else f"{path}/{identifier}"
        response = client.put(replace, json=document)
    _check(response, f"{path} {document['@id']}")


def offer_datasets(console: Console, client: httpx.Client) -> None:
    """Assets, usage policies and contract definitions on the provider's node."""
    console.rule("[bold]3. The provider's datasets, policies and contract definitions")
    folder = resources.files("etds_examples.assets")
    for name, asset_id in ASSET_FILES.items():
        asset = json.loads(folder.joinpath(f"{name}.json").read_text(encoding="utf-8"))
        _put_or_post(client, "/management/v3/assets", asset)
        _check(client.post(f"/management/v3/assets/{asset_id}/profile"), f"profiling {asset_id}")
        for kind in ("access", "contract"):
            policy = json.loads((POLICIES / f"{name}-{kind}.json").read_text(encoding="utf-8"))
            _put_or_post(client, "/management/v3/policydefinitions", policy)
        definition = {
            "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
            "@id": f"offer-{name}",
            "@type": "ContractDefinition",
            "accessPolicyId": f"{name}-access",
            "contractPolicyId": f"{name}-contract",
            "assetsSelector": [{"operandLeft": "id", "operator": "=", "operandRight": asset_id}],
        }
        _put_or_post(client, "/management/v3/contractdefinitions", definition)
        console.print(f"  {asset_id}: asset, policies {name}-access / {name}-contract, offer")


def _title(dataset: dict[str, Any]) -> str:
    titles = dataset.get("dct:title", [])
    for title in titles if isinstance(titles, list) else [titles]:
        if isinstance(title, dict) and title.get("@language") == "en":
            return str(title["@value"])
    return str(dataset.get("@id"))


def discover(console: Console, client: httpx.Client, provider: RunningService) -> dict[str, Any]:
    """The provider's catalogue as the regional agency's node shows it (management API)."""
    console.rule("[bold]4. The regional agency fetches the provider's catalogue (DSP)")
    catalogue = _check(
        client.post(
            "/management/v3/catalog/request",
            json={
                "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
                "@type": "CatalogRequest",
                "counterPartyAddress": provider.url + "/protocol/2025-1",
                "counterPartyId": PROVIDER.participant_id,
                "protocol": "dataspace-protocol-http:2025-1",
            },
            timeout=60,
        ),
        "catalogue request",
    )
    datasets = catalogue.get("dcat:dataset", [])
    datasets = datasets if isinstance(datasets, list) else [datasets]
    table = Table("dataset", "title", "offers", "places", "distributions")
    for dataset in datasets:
        offers = dataset.get("odrl:hasPolicy", [])
        places = dataset.get("dct:spatial", [])
        table.add_row(
            dataset["@id"],
            _title(dataset),
            str(len(offers) if isinstance(offers, list) else 1),
            str(len(places) if isinstance(places, list) else 1),
            str(len(dataset.get("dcat:distribution", []))),
        )
    console.print(table)
    found = _check(
        client.get("/management/v3/catalog/search", params={"q": "camping", "region": "FRJ"}),
        "search",
    )
    console.print(
        f"  search 'camping' in Occitanie (FRJ): {found['total']} result(s): "
        + ", ".join(hit["dataset"]["@id"] for hit in found["hits"][:5])
    )
    return dict(catalogue)


def _datasets(catalogue: dict[str, Any]) -> list[dict[str, Any]]:
    datasets = catalogue.get("dcat:dataset", [])
    return datasets if isinstance(datasets, list) else [datasets]


def _barometer_offer(catalogue: dict[str, Any]) -> dict[str, Any]:
    """The barometer's offer as the regional agency's catalogue shows it, with its target."""
    dataset = next((d for d in _datasets(catalogue) if d["@id"] == BAROMETER), None)
    if dataset is None:
        raise SystemExit(f"{BAROMETER} is not in the regional agency's view of the catalogue")
    offers = dataset["odrl:hasPolicy"]
    offer = offers[0] if isinstance(offers, list) else offers
    return {**offer, "odrl:target": {"@id": BAROMETER}}


def _negotiate(
    client: httpx.Client, catalogue: dict[str, Any], provider: RunningService, **extra: Any
) -> tuple[dict[str, Any], float]:
    """The regional agency's negotiation for the barometer's offer once it has ended, and how
    long it took (seconds)."""
    started = time.monotonic()
    created = _check(
        client.post(
            NEGOTIATIONS,
            json={
                "@context": catalogue["@context"],
                "@type": "ContractRequest",
                "counterPartyAddress": provider.url + "/protocol/2025-1",
                "counterPartyId": PROVIDER.participant_id,
                "protocol": "dataspace-protocol-http:2025-1",
                "policy": _barometer_offer(catalogue),
                **extra,
            },
        ),
        "contract request",
    )
    deadline = started + NEGOTIATION_SECONDS
    while True:
        negotiation = _check(client.get(f"{NEGOTIATIONS}/{created['@id']}"), "negotiation")
        if negotiation["state"] in ("FINALIZED", "TERMINATED"):
            return dict(negotiation), time.monotonic() - started
        if time.monotonic() > deadline:
            raise SystemExit(f"the negotiation did not end in {NEGOTIATION_SECONDS} s")
        time.sleep(0.05)


def _constraints(policy: dict[str, Any]) -> list[str]:
    """The left operands of an agreement's permission constraints (``etds:rowRegion``…)."""
    permissions = policy.get("odrl:permission", [])
    names = []
    for permission in permissions if isinstance(permissions, list) else [permissions]:
        constraints = permission.get("odrl:constraint", [])
        for constraint in constraints if isinstance(constraints, list) else [constraints]:
            operand = constraint.get("odrl:leftOperand", {})
            names.append(str(operand.get("@id", operand) if isinstance(operand, dict) else operand))
    return names


def negotiate(
    console: Console,
    client: httpx.Client,
    provider_client: httpx.Client,
    catalogue: dict[str, Any],
    provider: RunningService,
) -> bool:
    """Step 6; True when the agreement is kept on both nodes and the request without a purpose
    was refused."""
    console.rule("[bold]6. The regional agency negotiates the booking barometer (DSP)")
    negotiation, took = _negotiate(
        client, catalogue, provider, purpose={"@id": OFFICIAL_STATISTICS}
    )
    console.print(
        f"  request for {BAROMETER} (purpose: official statistics): {negotiation['state']} "
        f"in {took * 1000:.0f} ms"
    )
    if negotiation["state"] != "FINALIZED":
        console.print(f"  [red]{negotiation.get('errorDetail', '')}[/red]")
        return False
    agreement_id = negotiation["contractAgreementId"]
    kept = [
        _check(c.get(f"/management/v3/contractagreements/{agreement_id}"), "agreement")
        for c in (client, provider_client)
    ]
    agreement = kept[0]
    history = _check(client.get(f"{NEGOTIATIONS}/{negotiation['@id']}/history"), "history")
    console.print(
        f"  agreement {agreement_id}: {agreement['providerId']} → {agreement['consumerId']}, "
        "kept by both nodes"
    )
    console.print(f"  its terms: {', '.join(_constraints(agreement['policy']))}")
    steps = [f"{m['type']} ({'sent' if m['direction'] == 'out' else 'received'})" for m in history]
    console.print("  messages: " + " → ".join(steps))
    refused, _ = _negotiate(client, catalogue, provider)
    console.print(
        f"  the same request without a purpose: {refused['state']} — "
        f"{refused.get('errorDetail', '')[:300]}"
    )
    refused_by_policy = refused["state"] == "TERMINATED" and "odrl:purpose" in refused.get(
        "errorDetail", ""
    )
    return kept[0]["@id"] == kept[1]["@id"] == agreement_id and refused_by_policy


async def _company_request(
    space: LocalDataspace, provider: RunningService, offer_id: str
) -> httpx.Response:
    async with _company_client(space, provider) as client:
        return await client.post(
            "/negotiations/request",
            json={
                "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                "@type": "ContractRequestMessage",
                "consumerPid": f"urn:uuid:{uuid.uuid4()}",
                # The company runs no node in the demo: a loopback address no one
                # listens on (a request the provider accepted would be answered there).
                "callbackAddress": "http://127.0.0.1:9/protocol/2025-1",
                "offer": {
                    "@type": "Offer",
                    "@id": offer_id,
                    "target": BAROMETER,
                    "permission": [{"action": "use"}],
                },
            },
        )


def company_request(
    console: Console, space: LocalDataspace, provider: RunningService, catalogue: dict[str, Any]
) -> bool:
    """Step 7; True when the provider refused the company's request."""
    console.rule("[bold]7. The tour operator asks for a contract on the barometer anyway")
    offer_id = str(_barometer_offer(catalogue)["@id"])
    response = asyncio.run(_company_request(space, provider, offer_id))
    try:
        reason = response.json().get("reason", [])
    except ValueError:  # not the DSP error it should be
        reason = [response.text[:300]]
    said = "; ".join(str(r) for r in (reason if isinstance(reason, list) else [reason]))
    status = response.status_code
    console.print(f"  contract request for the barometer's offer: HTTP {status} — {said}")
    return response.status_code == 400 and "unknown offer" in said


@asynccontextmanager
async def _company_client(
    space: LocalDataspace, provider: RunningService
) -> AsyncIterator[httpx.AsyncClient]:
    """A DSP client of the provider's node for the tour operator (its own tokens and DPoP
    proofs: it runs no node in the demo)."""
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        tokens = TokenClient(
            authority=space.issuer,
            client_id=COMPANY.participant_id,
            client_key=keys.load_signing_key(space.key_file(COMPANY.participant_id)),
            dpop_key=keys.ephemeral_key(),
            async_client=http,
        )
        async with httpx.AsyncClient(
            base_url=provider.url + "/protocol/2025-1",
            auth=DataspaceAuth(tokens, audience=PROVIDER.participant_id),
            trust_env=False,
            timeout=30,
        ) as client:
            yield client


async def _company_view(space: LocalDataspace, provider: RunningService) -> set[str]:
    async with _company_client(space, provider) as client:
        response = await client.post(
            "/catalog/request",
            json={
                "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                "@type": "CatalogRequestMessage",
            },
        )
        catalogue = _check(response, "the company's catalogue request")
    return {dataset["@id"] for dataset in catalogue.get("dataset", [])}


def company_view(
    console: Console, space: LocalDataspace, provider: RunningService, regional: set[str]
) -> bool:
    console.rule("[bold]5. A tour operator (a company) asks for the same catalogue")
    seen = asyncio.run(_company_view(space, provider))
    hidden = sorted(identifier.split("~")[0] for identifier in regional - seen)
    console.print(f"  it sees: {', '.join(sorted(seen)) or 'nothing'}")
    console.print(
        "  not visible to a company (access policy: public-sector agencies only): "
        + ", ".join(dict.fromkeys(hidden))
    )
    return bool(hidden) and bool(seen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workdir", type=Path, default=Path("var/demo"))
    parser.add_argument("--rows", type=int, default=1_000_000, help="barometer rows per week")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    console = Console()
    workdir: Path = args.workdir.resolve()
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    generate_data(console, data, rows=args.rows, seed=args.seed)

    console.rule("[bold]2. The dataspace: an authority and three participants")
    space = LocalDataspace(workdir / "dataspace")
    authority_config = space.authority_config()
    for member in (PROVIDER, REGION, COMPANY):
        new = space.register(authority_config, member)
        state = "registered" if new else "already registered"
        console.print(f"  {state}: {member.participant_id} ({member.org_type})")
    ports = free_port(), free_port()
    configs = [
        space.node_settings(member, port=port, api_key=API_KEY, data_root=data)
        for member, port in zip((PROVIDER, REGION), ports, strict=True)
    ]
    with ExitStack() as stack:
        authority = stack.enter_context(
            run_authority(
                authority_config, port=space.authority_port, log_file=workdir / "authority.log"
            )
        )
        provider = stack.enter_context(
            run_node(configs[0], port=ports[0], log_file=workdir / "provider.log")
        )
        region = stack.enter_context(
            run_node(configs[1], port=ports[1], log_file=workdir / "region.log")
        )
        console.print(f"  authority {authority.url}, provider {provider.url}, region {region.url}")
        console.print(f"  logs in {workdir}")
        admin = {"X-Api-Key": API_KEY}
        with httpx.Client(base_url=provider.url, headers=admin, timeout=60) as client:
            offer_datasets(console, client)
        with httpx.Client(base_url=region.url, headers=admin, timeout=60) as client:
            catalogue = discover(console, client, provider)
        regional = {dataset["@id"] for dataset in _datasets(catalogue)}
        refused_as_expected = company_view(console, space, provider, regional)
        with (
            httpx.Client(base_url=region.url, headers=admin, timeout=60) as client,
            httpx.Client(base_url=provider.url, headers=admin, timeout=60) as provider_client,
        ):
            agreed = negotiate(console, client, provider_client, catalogue, provider)
        company_refused = company_request(console, space, provider, catalogue)
    processes = (authority.process, provider.process, region.process)
    clean = all(stopped_cleanly(process.returncode) for process in processes)
    console.rule("[bold]Done")
    console.print(
        f"  {len(regional)} datasets offered to the regional agency; "
        + ("every process stopped cleanly" if clean else "a process did not stop cleanly")
    )
    played = refused_as_expected and agreed and company_refused
    return 0 if clean and played and len(regional) >= len(ASSET_FILES) else 1


if __name__ == "__main__":
    raise SystemExit(main())
