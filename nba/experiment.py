"""Experiments: policies x seeds on a scenario, compared with the rules, tracked in MLflow.

An experiment config (YAML; paths relative to it)::

    name: omnichannel
    scenario: scenario.yaml
    customers: 20000
    days: 60
    seeds: [0, 1, 2, 3, 4]
    policies:                       # a spec, or {name, spec}
      - rules
      - random
      - {name: vw-squarecb, spec: "vw:algo=squarecb"}
      - oracle                      # built by the runner from the simulator
    workers: 2                      # parallel runs (processes)

Every policy runs once per seed on the same simulated population (the seed
fixes population, visits and opportunities), so comparisons are paired by
seed. The result has docs/contracts.md's ``nba experiment run --json`` shape: the
fixed fields are over the whole run (realised reward of the decisions:
events they caused within the attribution window, minus send costs, per
customer); extra fields add the true expected reward and regret against the
oracle, and ``last_week``: the level reached at the end (true expected
reward of the last 7 days' decisions, its lift and headroom closed).
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from nba.config import load_document, validate
from nba.exceptions import ConfigError, NBAError
from nba.policies.spec import check_spec, make_policy
from nba.simulator.run import DAILY_METRICS, RunResult, run_policy
from nba.simulator.scenario import Scenario, load_scenario
from nba.stats import mean_interval, paired_interval

__all__ = [
    "ExperimentError",
    "PolicyEntry",
    "ExperimentConfig",
    "Resize",
    "ExperimentResult",
    "load_experiment",
    "run_experiment",
    "summarize",
]

log = logging.getLogger(__name__)


class ExperimentError(ConfigError):
    """An experiment config is missing or invalid."""


class PolicyEntry(BaseModel):
    """One compared policy: a display name and a spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    spec: str


class ExperimentConfig(BaseModel):
    """A validated experiment config."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "experiment"
    scenario: str = "scenario.yaml"
    customers: int = Field(default=20_000, gt=0)
    days: int = Field(default=60, gt=0)
    seeds: tuple[int, ...] = Field(default=(0, 1, 2, 3, 4), min_length=1)
    policies: tuple[PolicyEntry, ...] = Field(min_length=1)
    baseline: str = "rules"
    workers: int = Field(default=1, ge=1)
    experiment_name: str | None = None

    @field_validator("policies", mode="before")
    @classmethod
    def _entries(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"name": e, "spec": e} if isinstance(e, str) else e for e in v]
        return v


@dataclass(frozen=True)
class LoadedExperiment:
    """A config with its scenario loaded."""

    config: ExperimentConfig
    scenario: Scenario
    source: Path
    scenario_path: Path


@dataclass(frozen=True)
class Resize:
    """Overrides of an experiment config's size and policies (``None`` / empty: the config's).

    What ``nba experiment run`` and ``nba demo`` take as ``--customers``, ``--days``,
    ``--seeds`` and ``--policy``. The resized config is validated like the file.

    Parameters
    ----------
    customers, days
        Replace the config's.
    seeds
        A number of seeds: seeds ``0 .. seeds - 1`` replace the config's.
    policies
        Policy specs replacing the config's policies (each named by its spec); the
        config's baseline is kept in front when they leave it out, since every policy
        is compared with it.

    Examples
    --------
    >>> r = Resize(customers=300, seeds=2, policies=("linucb",))
    >>> str(r)
    '--customers 300 --seeds 2 --policy linucb'
    >>> r.apply({"customers": 20000, "seeds": [0, 1, 2], "policies": ["rules", "random"]})
    {'customers': 300, 'seeds': [0, 1], 'policies': ['rules', 'linucb']}
    """

    customers: int | None = None
    days: int | None = None
    seeds: int | None = None
    policies: tuple[str, ...] = ()

    def __str__(self) -> str:
        sizes = [f"--{k} {v}" for k in ("customers", "days", "seeds") if (v := getattr(self, k))]
        return " ".join(sizes + [f"--policy {p}" for p in self.policies])

    def apply(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The config document ``doc`` with these overrides (a new dict)."""
        out = dict(doc)
        for key in ("customers", "days"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.seeds is not None:
            out["seeds"] = list(range(self.seeds))
        if self.policies:
            baseline = doc.get("baseline", ExperimentConfig.model_fields["baseline"].default)
            kept = [
                e
                for e in doc.get("policies") or []
                if e == baseline or (isinstance(e, dict) and e.get("name") == baseline)
            ]
            out["policies"] = ([] if baseline in self.policies else kept) + list(self.policies)
        return out


def load_experiment(path: str | Path, resize: Resize | None = None) -> LoadedExperiment:
    """Load and check an experiment config (and its scenario), resized by ``resize``.

    Raises
    ------
    ExperimentError
        Naming the file (and the overrides) and field: unknown policies, duplicate
        names, no baseline, sizes out of range.
    """
    p = Path(path)
    doc = load_document(p, ExperimentError)
    source = str(p)
    if resize is not None and str(resize):
        doc = resize.apply(doc if isinstance(doc, dict) else {})
        source = f"{p} with {resize}"
    cfg = validate(ExperimentConfig, doc, source, ExperimentError, {"policies": "policy"})
    names = [e.name for e in cfg.policies]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ExperimentError(f"{source}, `policies`: the name `{dup[0]}` is used twice")
    if cfg.baseline not in names:
        raise ExperimentError(
            f"{source}, `baseline`: `{cfg.baseline}` is not one of the policies "
            f"({', '.join(names)})"
        )
    for e in cfg.policies:
        if e.spec == "oracle":
            continue
        try:
            check_spec(e.spec)
        except NBAError as exc:
            raise ExperimentError(f"{source}, policy `{e.name}`: {exc}") from None
    scenario_path = p.parent / cfg.scenario
    return LoadedExperiment(cfg, load_scenario(scenario_path), p, scenario_path)


# -- running --------------------------------------------------------------------------------
@dataclass
class ExperimentResult:
    """Runs of an experiment and their summary (docs/contracts.md's JSON shape in ``summary``)."""

    config_path: str
    config: ExperimentConfig
    runs: list[RunResult] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    saved_policies: dict[tuple[str, int], str] = field(default_factory=dict)

    def daily_matrix(self, name: str, metric: str) -> np.ndarray:
        """Shape (n_seeds, n_days): a daily metric of one policy (finished runs only)."""
        rows = [
            [d[metric] for d in r.daily]
            for r in sorted(self.runs, key=lambda r: int(r.seed or 0))
            if r.policy_name == name
        ]
        if not rows:
            return np.zeros((0, 0))
        width = min(len(r) for r in rows)
        return np.array([r[:width] for r in rows], dtype=float)

    def summary_json(self, **extra: Any) -> str:
        """The summary, with ``extra`` keys set, as JSON text (:func:`dumps`)."""
        return dumps(self.summary | extra)


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def _run_one(args: tuple[str, str, str, int, int, int, str | None]) -> tuple[str, RunResult]:
    scenario_path, name, spec, seed, customers, days, save_dir = args
    from nba.simulator.core import Simulator
    from nba.simulator.oracle import OraclePolicy

    scenario = load_scenario(scenario_path)
    sim = Simulator(scenario, customers, days=days)
    if spec == "oracle":
        policy: Any = OraclePolicy(simulator=sim)
    else:
        policy = make_policy(spec, random_state=seed, rules=str(scenario.rules_path))
    res = run_policy(sim, policy, seed=seed)
    res.policy = None
    saved = ""
    if save_dir is not None and policy.kind == "learned":
        try:
            saved = str(policy.save(Path(save_dir) / f"{name}-seed{seed}"))
        except NBAError as exc:
            log.warning("could not save policy %s: %s", name, exc)
    res.policy_name = name
    res.spec = spec
    close = getattr(policy, "close", None)
    if callable(close):
        close()
    return saved, res


def run_experiment(
    path: str | Path,
    *,
    tracking_uri: str | None = None,
    track: bool = True,
    workers: int | None = None,
    resize: Resize | None = None,
    on_run: Callable[[RunResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ExperimentResult:
    """Run every policy on every seed, summarise, and track in MLflow.

    Parameters
    ----------
    path
        The experiment config.
    tracking_uri
        MLflow tracking URI (default: ``MLFLOW_TRACKING_URI`` or a local SQLite store).
    track
        Log to MLflow (runs, metrics, artifacts, champion model).
    workers
        Parallel processes (default: the config's ``workers``).
    resize
        Overrides of the config's customers, days, seeds and policies.
    on_run
        Called with each finished run (progress bars).
    on_start
        Called once with the number of runs.

    Returns
    -------
    ExperimentResult
        With ``summary`` in docs/contracts.md's shape; on Ctrl-C, the finished runs
        (``interrupted`` set).
    """
    loaded = load_experiment(path, resize)
    cfg = loaded.config
    jobs = [
        (e.name, e.spec, seed) for seed in cfg.seeds for e in cfg.policies
    ]  # seed-major: a finished prefix compares policies on the same seeds
    if on_start is not None:
        on_start(len(jobs))
    result = ExperimentResult(str(loaded.source), cfg)
    save_root = tempfile.mkdtemp(prefix="nba-experiment-")
    args = [
        (
            str(loaded.scenario_path),
            n,
            s,
            seed,
            cfg.customers,
            cfg.days,
            save_root if seed == cfg.seeds[0] else None,
        )
        for n, s, seed in jobs
    ]
    n_workers = max(1, min(workers or cfg.workers, len(jobs)))

    def collect(saved: str, res: RunResult) -> None:
        result.runs.append(res)
        if saved:
            result.saved_policies[(res.policy_name, int(res.seed or 0))] = saved
        if on_run is not None:
            on_run(res)

    try:
        if n_workers == 1:
            for a in args:
                collect(*_run_one(a))
        else:
            old = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
            for k, v in old.items():
                if v is None:
                    os.environ[k] = "1"
            ctx = mp.get_context("spawn")
            pool = ctx.Pool(n_workers, initializer=_init_worker)
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
            try:
                for saved, res in pool.imap_unordered(_run_one, args):
                    collect(saved, res)
                pool.close()
            except BaseException:
                pool.terminate()
                raise
            finally:
                pool.join()
    except KeyboardInterrupt:
        result.interrupted = True
    try:
        result.summary = summarize(result, loaded)
        if track and result.runs:
            from nba.tracking.experiment import track_experiment

            result.summary["mlflow"] = track_experiment(result, loaded, tracking_uri=tracking_uri)
        else:
            result.summary["mlflow"] = None
    finally:
        # the saved policies served the champion's logging, which copied what it keeps
        shutil.rmtree(save_root, ignore_errors=True)
        result.saved_policies.clear()
    return result


def summarize(result: ExperimentResult, loaded: LoadedExperiment) -> dict[str, Any]:
    """The comparison in docs/contracts.md's shape (``mlflow`` left to the caller).

    Only seeds on which every policy finished are compared (pairing).
    """
    cfg = loaded.config
    by: dict[tuple[str, int], RunResult] = {
        (r.policy_name, int(r.seed or 0)): r for r in result.runs
    }
    names = [e.name for e in cfg.policies]
    seeds = [s for s in cfg.seeds if all((n, s) in by for n in names)]
    out: dict[str, Any] = {
        "config": str(loaded.source),
        "customers": cfg.customers,
        "days": cfg.days,
        "seeds": seeds,
        "policies": [],
    }
    if not seeds:
        return out

    def per_seed(name: str, key: str) -> np.ndarray:
        return np.array([by[(name, s)].totals[key] for s in seeds])

    def last_week(name: str) -> np.ndarray:
        # true expected reward of the decisions of the last 7 days (the level reached)
        out = []
        for s in seeds:
            d = by[(name, s)].daily
            k = min(7, len(d))
            before = d[-k - 1]["expected_reward_per_customer"] if len(d) > k else 0.0
            out.append(d[-1]["expected_reward_per_customer"] - before)
        return np.array(out)

    base = per_seed(cfg.baseline, "reward_per_customer")
    base_lw = last_week(cfg.baseline)
    oracle = next((e.name for e in cfg.policies if e.spec == "oracle"), None)
    o_mean = float(per_seed(oracle, "reward_per_customer").mean()) if oracle else None
    o_lw = float(last_week(oracle).mean()) if oracle else None
    for e in cfg.policies:
        runs = [by[(e.name, s)] for s in seeds]
        rew = per_seed(e.name, "reward_per_customer")
        m, ci = mean_interval(rew)
        lift_m, lift_ci = paired_interval(rew, base)
        headroom = None
        if o_mean is not None and abs(o_mean - base.mean()) > 1e-12:
            headroom = float((rew.mean() - base.mean()) / (o_mean - base.mean()))
        lw = last_week(e.name)
        lw_lift, lw_ci = paired_interval(lw, base_lw)
        lw_head = None
        if o_lw is not None and abs(o_lw - base_lw.mean()) > 1e-12:
            lw_head = float((lw.mean() - base_lw.mean()) / (o_lw - base_lw.mean()))
        channels = runs[0].contacts_per_customer.keys()
        out["policies"].append(
            {
                "name": e.name,
                "kind": runs[0].kind,
                "spec": e.spec,
                "reward_per_customer": {"mean": m, "ci95": ci},
                "expected_reward_per_customer": float(
                    per_seed(e.name, "expected_reward_per_customer").mean()
                ),
                "regret_per_customer": float(per_seed(e.name, "regret_per_customer").mean()),
                "conversions_per_1000": float(per_seed(e.name, "conversions_per_1000").mean()),
                "revenue": float(per_seed(e.name, "revenue_per_customer").mean() * cfg.customers),
                "unsubscribe_rate": float(per_seed(e.name, "unsubscribe_rate").mean()),
                "complaint_rate": float(per_seed(e.name, "complaint_rate").mean()),
                "contacts_per_customer": {
                    c: float(np.mean([r.contacts_per_customer[c] for r in runs])) for c in channels
                },
                "guardrail_violations": int(sum(r.guardrail_violations for r in runs)),
                "lift_vs_rules": {"mean": lift_m, "ci95": lift_ci},
                "oracle_headroom_closed": headroom,
                "last_week": {
                    "expected_reward_per_customer": float(lw.mean()),
                    "lift_vs_rules": {"mean": lw_lift, "ci95": lw_ci},
                    "oracle_headroom_closed": lw_head,
                },
                "seconds_per_run": float(np.mean([r.seconds for r in runs])),
            }
        )
    return out


def dumps(summary: dict[str, Any]) -> str:
    """The summary as JSON text (NaN as null)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(summary), indent=2)


__all__ += ["LoadedExperiment", "dumps", "DAILY_METRICS"]
