"""The Cloud Run service a BigQuery deploy needs: resources, region, identity, commands.

Cloud Run's defaults (512 MiB, 1 vCPU, 300 s, concurrency 80) do not fit a solver:
a 20,000-unit problem needs more memory, a solve may run minutes, and one CPU-bound
solve per instance is all a vCPU can take. So the service is sized from the largest
problem expected per call (``--max-units``), with figures measured on this code (the
README's deploy section lists them):

* memory: the peak measured for a problem of that size, doubled for headroom, rounded
  up to a size Cloud Run offers (more than 4 GiB needs 2 vCPU, 8 GiB 4, 16 GiB 8);
* timeout: 1,200 s, as long as BigQuery waits for a remote function; BigQuery retries a
  504, which would rerun the solve, so the solver's ``time_limit`` is clamped to 75 %
  of it (``TERRAPLAN_REQUEST_TIMEOUT`` tells the service);
* concurrency 1: one solve per instance (BigQuery fans calls out over instances).

Region: a BigQuery connection lives in a location (``us``, ``eu`` or a region such as
``europe-west3``); the dataset is created there, and the service runs in that region,
or for a multi-region in a region inside it, unless ``--region`` says otherwise.

Identity: the service runs as its own service account, which table mode needs to read
and write the caller's tables (BigQuery Data Viewer and Data Editor on the datasets,
Job User on the project for load and copy jobs); the connection's service account
needs Cloud Run Invoker on the service. :func:`commands` lists every command a deploy
runs, in order, so ``--dry-run`` can print them.
"""

from __future__ import annotations

import itertools
import math
import shlex
from dataclasses import dataclass

from components.errors import InputError

BIGQUERY_WAIT_SECONDS = 1200  # BigQuery waits at most 20 minutes for a remote function
TIME_LIMIT_SHARE = 0.75       # of the request timeout; the rest reads, packs and writes
TIMEOUT_ENV = "TERRAPLAN_REQUEST_TIMEOUT"
# Peak resident memory (MiB) of one packed call, the largest of cost matrix (k = 50),
# territory balancing (20 territories) and location allocation (candidates = units / 10)
# at that many units, measured with ru_maxrss (README deploy section). Linear between the
# points and beyond them: an estimate there, since location allocation grows faster.
MEASURED_PEAK_MIB = ((0, 250), (5_000, 340), (20_000, 1_780))
MEMORY_STEPS_MIB = (512, 1024, 2048, 4096, 8192, 16384, 32768)
MULTI_REGION_DEFAULT = {"us": "us-central1", "eu": "europe-west1"}
TABLE_MODE_ROLES = ("roles/bigquery.dataViewer", "roles/bigquery.dataEditor",
                    "roles/bigquery.jobUser")
INVOKER_ROLE = "roles/run.invoker"
CONNECTION_SA = "CONNECTION_SERVICE_ACCOUNT"  # filled from `bq show --connection` at deploy


@dataclass(frozen=True)
class ServicePlan:
    project: str
    location: str        # the connection's BigQuery location: us, eu, europe-west3, ...
    region: str          # Cloud Run region
    service: str
    service_account: str
    memory_mib: int
    cpu: int
    timeout: int = BIGQUERY_WAIT_SECONDS
    concurrency: int = 1

    @property
    def memory(self) -> str:
        return f"{self.memory_mib // 1024}Gi" if self.memory_mib >= 1024 else \
            f"{self.memory_mib}Mi"


def peak_mib(units: int) -> float:
    points = MEASURED_PEAK_MIB
    for (u0, m0), (u1, m1) in itertools.pairwise(points):
        if units <= u1:
            return m0 + (m1 - m0) * (units - u0) / (u1 - u0)
    (u0, m0), (u1, m1) = points[-2:]
    return m1 + (m1 - m0) * (units - u1) / (u1 - u0)


def memory_for(units: int) -> tuple[int, int]:
    """(memory MiB, vCPU) for problems of up to ``units`` units per call."""
    need = 2 * peak_mib(units)
    memory = next((m for m in MEMORY_STEPS_MIB if m >= need), None)
    if memory is None:
        raise InputError(f"--max-units {units:,} needs about {need / 1024:.0f} GiB, over Cloud "
                         "Run's 32 GiB; split the problem (PARTITION BY region) or use fewer "
                         "units per call", column="max-units")
    cpu = 8 if memory > 16384 else 4 if memory > 8192 else 2 if memory > 4096 else 1
    return memory, cpu


def connection_location(connection: str) -> str:
    """``eu.terraplan`` or ``p.eu.terraplan`` -> ``eu``."""
    return connection.split(".")[-2].lower()


def region_for(location: str) -> str:
    return MULTI_REGION_DEFAULT.get(location, location)


def check_region(location: str, region: str) -> None:
    """A service far from the data works but is slow and billed for egress: refuse it."""
    if location in MULTI_REGION_DEFAULT:
        prefix = "us-" if location == "us" else "europe-"
        ok = region.startswith(prefix)
    else:
        ok = region == location
    if not ok:
        raise InputError(f"--region {region} is outside the connection's location {location!r}; "
                         f"use --region {region_for(location)} (or a connection in {region})",
                         column="region")


def plan(project: str, connection: str, *, service: str = "terraplan-bigquery",
         region: str | None = None, service_account: str | None = None,
         max_units: int = 20_000) -> ServicePlan:
    location = connection_location(connection)
    region = region or region_for(location)
    check_region(location, region)
    memory, cpu = memory_for(max_units)
    account = service_account or f"{service}@{project}.iam.gserviceaccount.com"
    return ServicePlan(project, location, region, service, account, memory, cpu)


def time_limit_cap(timeout: float) -> float:
    return TIME_LIMIT_SHARE * float(timeout)


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    why: str

    def __str__(self) -> str:
        return shlex.join(self.argv)


def commands(p: ServicePlan, build_dir: str, connection_path: str) -> list[Command]:
    """Every gcloud/bq command of a deploy, in order (``CONNECTION_SERVICE_ACCOUNT`` is read
    from the connection by the ``bq show`` command before it is used)."""
    account = p.service_account
    out = [
        Command(("gcloud", "iam", "service-accounts", "create", account.split("@", 1)[0],
                 "--project", p.project, "--display-name", "terraplan BigQuery remote functions"),
                "the identity the service runs as (an existing one is kept)"),
        Command(("gcloud", "run", "deploy", p.service, "--source", build_dir,
                 "--region", p.region, "--project", p.project, "--no-allow-unauthenticated",
                 "--service-account", account, "--memory", p.memory, "--cpu", str(p.cpu),
                 "--timeout", str(p.timeout), "--concurrency", str(p.concurrency),
                 "--set-env-vars", f"{TIMEOUT_ENV}={p.timeout}",
                 "--format=value(status.url)"),
                "the service, sized for the largest expected problem"),
    ]
    for role in TABLE_MODE_ROLES:  # project-wide; narrow them to your datasets if you wish
        out.append(Command(("gcloud", "projects", "add-iam-policy-binding", p.project,
                            "--member", f"serviceAccount:{account}", "--role", role,
                            "--condition=None"),
                           "table mode reads and writes the caller's tables with load and "
                           "copy jobs"))
    out += [
        Command(("bq", "show", "--format=json", "--connection", connection_path),
                f"read the connection's service account into {CONNECTION_SA}"),
        Command(("gcloud", "run", "services", "add-iam-policy-binding", p.service,
                 "--region", p.region, "--project", p.project,
                 "--member", f"serviceAccount:{CONNECTION_SA}", "--role", INVOKER_ROLE),
                "BigQuery calls the service as the connection's service account"),
    ]
    return out


def resources_summary(p: ServicePlan) -> str:
    cap = math.floor(time_limit_cap(p.timeout))
    return (f"Cloud Run {p.service} in {p.region}: {p.memory} memory, {p.cpu} vCPU, "
            f"timeout {p.timeout} s (time_limit capped at {cap} s), concurrency "
            f"{p.concurrency}, service account {p.service_account}; dataset location "
            f"{p.location}")
