"""A guarded rollout: a learned challenger gets only the traffic it has earned against the rules.

A reward-only learner (Vowpal Wabbit, LinUCB, linear Thompson sampling, a
reward model) starts knowing nothing, and where the marketer's rules are
already good it can lose a great deal before it learns — or never catch up
when rewards are rare and noisy. Products that ship learned decisions next
to a hand-written baseline therefore roll the challenger out gradually and
roll it back when it does worse ("guarded rollouts"; in the bandit
literature, *conservative bandits*: Wu, Shariff, Lattimore & Szepesvári
2016, Kazerouni et al. 2017 for the contextual linear case).

Each decision follows the mixture

    share * challenger(x) + (1 - share) * rules(x),

so the logged propensity is the mixture's and the challenger learns from
every decision. The share comes from an off-policy comparison on the
decisions the policy learns from, computed *before* the challenger learns
from them (progressive validation, so it is never scored on its training
data): per decision the importance-weighted difference

    d = (challenger(a | x) - rules(a | x)) / propensity * reward

is an unbiased estimate of the challenger's value minus the rules' value,
whatever mixture logged it. With ``Δ`` its running mean (recent decisions
weigh more: ``half_life``) and ``[lcb, ucb]`` its ``confidence`` interval:

- ``lcb > 0`` (the challenger is better): share ``1 - probe``;
- ``ucb < 0`` (it is worse): share ``probe`` — rolled back, still learning;
- otherwise: the largest share whose loss at the worst plausible deficit
  stays within ``budget`` of the rules' value,
  ``share = budget * |V_rules| / -lcb``, clipped to ``[probe, 1 - probe]``.

The challenger therefore costs at most about ``budget`` of the rules' reward
while the evidence is out (plus ``probe`` times its deficit once it has been
rolled back), and takes over once it has shown it does better. The rules
keep ``probe`` of the traffic so the comparison goes on.

The comparison needs the rules' choice for the logged decisions, hence
nba's own signals in the batch; a batch without them (an external log)
still teaches the challenger but leaves the share as it is.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from statistics import NormalDist
from typing import Any, Self

import numpy as np

from nba.config import load_document
from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.policies.base import (
    POLICY_FILE,
    LoggedBatch,
    Policy,
    check_allowed,
    check_params,
    is_integer,
    is_real,
)
from nba.policies.registry import load_policy
from nba.policies.spec import make_policy

__all__ = ["GuardedPolicy"]

#: Sub-directory of a saved guarded policy holding the challenger.
CHALLENGER_DIR = "challenger"


class GuardedPolicy(Policy):
    """A challenger policy rolled out against the marketer's rules (see the module docs).

    Parameters
    ----------
    challenger
        The policy rolled out (usually a learned one); the guard owns it from
        then on: it learns, resets, saves and closes with the guard.
    rules
        The marketer's rules (a ``rules.yaml`` path or its document): the
        baseline the challenger must not fall behind.
    budget
        Share of the rules' reward the rollout may put at risk while the
        comparison is undecided (0 to 1).
    probe
        Traffic share the challenger keeps when rolled back, and the rules
        keep when it has won (0 to 0.5).
    confidence
        Two-sided confidence of the comparison's interval (0.5 to 1).
    half_life
        Decisions after which an observation weighs half as much in the
        comparison (the challenger changes as it learns).

    Examples
    --------
    >>> from nba.settings import EXAMPLE_DIR
    >>> from nba.simulator.core import Simulator
    >>> from nba.simulator.run import run_policy
    >>> from nba.simulator.scenario import load_scenario
    >>> sc = load_scenario(EXAMPLE_DIR / "scenario.yaml")
    >>> from nba.policies.linear import LinUCB
    >>> policy = GuardedPolicy(challenger=LinUCB(), rules=str(sc.rules_path))
    >>> policy.spec
    'linucb:alpha=1.0,ridge=1.0,guard=true'
    >>> res = run_policy(Simulator(sc, 500, days=10), policy, seed=0)
    >>> 0.0 < policy.share_ < 1.0, res.guardrail_violations
    (True, 0)
    """

    name = "guarded"
    kind = "learned"
    needs_raw_signals = True  # the rules it is compared with read them
    share_: float
    stats_: np.ndarray
    n_examples_: int

    def __init__(
        self,
        *,
        challenger: Policy | None = None,
        rules: str | dict[str, Any] | None = None,
        budget: float = 0.01,
        probe: float = 0.01,
        confidence: float = 0.95,
        half_life: int = 200_000,
    ) -> None:
        self.challenger = challenger
        self.rules = rules
        self.budget = budget
        self.probe = probe
        self.confidence = confidence
        self.half_life = half_life

    # -- parts ------------------------------------------------------------------------
    def _validate_params(self) -> None:
        check_params(
            "GuardedPolicy",
            self,
            (
                (
                    "budget",
                    is_real(self.budget) and 0.0 <= self.budget <= 1.0,
                    "a number in [0, 1]",
                ),
                ("probe", is_real(self.probe) and 0.0 <= self.probe <= 0.5, "a number in [0, 0.5]"),
                (
                    "confidence",
                    is_real(self.confidence) and 0.5 <= self.confidence < 1.0,
                    "a number in [0.5, 1)",
                ),
                ("half_life", is_integer(self.half_life) and self.half_life > 0, "an integer > 0"),
            ),
        )
        if not isinstance(self.challenger, Policy) or isinstance(self.challenger, GuardedPolicy):
            raise PolicyError(
                "GuardedPolicy: `challenger` must be a policy (not a guarded one), "
                f"got {self.challenger!r}"
            )

    def _parts(self) -> tuple[Policy, Policy]:
        """The challenger and the rules; the comparison's state on first use."""
        if getattr(self, "share_", None) is None:
            self._validate_params()
            self.share_ = float(self.probe)
            # weight, weighted sums of d, d^2 and the rules' value, sum of squared weights
            self.stats_ = np.zeros(5)
            self.n_examples_ = 0
        baseline = getattr(self, "_baseline", None)
        if baseline is None:
            from nba.policies.rules import RulePolicy

            baseline = self._baseline = RulePolicy(rules=self.rules)
        return self.challenger, baseline  # type: ignore[return-value]

    def reset(self) -> None:
        """Drop the comparison and the challenger's learned state."""
        super().reset()
        if isinstance(self.challenger, Policy):
            self.challenger.reset()

    @property
    def spec(self) -> str:
        """The challenger's spec with ``guard=true`` (what :func:`make_policy` reads back).

        The challenger's spec as written when the guard came from a spec
        (:func:`~nba.policies.spec.make_policy`), else the challenger's own.
        """
        if self.challenger is None:
            return super().spec
        inner = getattr(self, "_challenger_spec", None) or self.challenger.spec
        return f"{inner}{',' if ':' in inner else ':'}guard=true"

    @property
    def version(self) -> str:
        """The challenger's version."""
        return "0" if self.challenger is None else self.challenger.version

    # -- behaviour --------------------------------------------------------------------
    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """Shape (n_customers, n_actions): ``share`` of the challenger, the rest the rules'."""
        allowed = check_allowed(allowed, len(context), context.n_actions)
        inner, baseline = self._parts()
        s = self.share_
        return s * inner.predict_proba(context, allowed) + (1.0 - s) * baseline.predict_proba(
            context, allowed
        )

    def comparison(self) -> dict[str, float]:
        """The running comparison: challenger minus rules per decision, with its interval.

        Keys: ``decisions`` (effective number of decisions: recent ones weigh
        more), ``diff``, ``lcb``, ``ucb``,
        ``rules_value`` (per decision) and ``share``. NaN before any evidence.
        """
        self._parts()
        w, s1, s2, vb, w2 = (float(v) for v in self.stats_)
        n_eff = w * w / w2 if w2 > 0 else 0.0
        if n_eff <= 1.0:
            nan = float("nan")
            keys = ("diff", "lcb", "ucb", "rules_value")
            return {"decisions": n_eff, **dict.fromkeys(keys, nan), "share": self.share_}
        mean = s1 / w
        se = math.sqrt(max(s2 / w - mean * mean, 0.0) / (n_eff - 1.0))
        z = NormalDist().inv_cdf(0.5 + float(self.confidence) / 2.0)
        return {
            "decisions": n_eff,
            "diff": mean,
            "lcb": mean - z * se,
            "ucb": mean + z * se,
            "rules_value": vb / w,
            "share": self.share_,
        }

    def diagnostics(self) -> dict[str, float]:
        """The traffic share and the comparison: ``guard_share``, ``guard_diff``,
        ``guard_lcb``, ``guard_ucb`` (the comparison's once it has evidence)."""
        c = self.comparison()
        out = {f"guard_{k}": float(c[k]) for k in ("share", "diff", "lcb", "ucb")}
        return {k: v for k, v in out.items() if math.isfinite(v)}

    def _next_share(self) -> float:
        c = self.comparison()
        lo, hi = float(self.probe), 1.0 - float(self.probe)
        if not math.isfinite(c["lcb"]):
            return self.share_
        if c["lcb"] > 0:
            return hi
        if c["ucb"] < 0:
            return lo
        allowed_loss = float(self.budget) * abs(c["rules_value"])
        return float(min(max(allowed_loss / max(-c["lcb"], 1e-12), lo), hi))

    def partial_fit(self, batch: LoggedBatch) -> Self:
        """Score the challenger against the rules on ``batch``, then let it learn from it.

        Raises
        ------
        PolicyError
            If the batch is invalid or a hyperparameter is out of range.
        """
        batch.validate()
        inner, baseline = self._parts()
        n = len(batch)
        if n and batch.context.signals is not None:
            rows = np.arange(n)
            a = np.asarray(batch.action, dtype=np.int64)
            pc = inner.predict_proba(batch.context, batch.allowed)[rows, a]
            pb = baseline.predict_proba(batch.context, batch.allowed)[rows, a]
            r = np.asarray(batch.reward, dtype=np.float64)
            prop = np.asarray(batch.propensity, dtype=np.float64)
            d = (pc - pb) / prop * r
            decay = 0.5 ** (n / float(self.half_life))
            fresh = np.array([n, d.sum(), (d * d).sum(), (pb / prop * r).sum(), n])
            self.stats_ = self.stats_ * np.array([decay] * 4 + [decay * decay]) + fresh
        inner.partial_fit(batch)
        self.n_examples_ += n
        self.share_ = self._next_share()
        return self

    def close(self) -> None:
        """Release the challenger's resources (e.g. a Vowpal Wabbit workspace)."""
        close = getattr(self.challenger, "close", None)
        if callable(close):
            close()

    # -- persistence --------------------------------------------------------------------
    def _saved_params(self) -> dict[str, Any]:
        """The rules document embedded (a path would not travel with the policy);
        the challenger is saved in ``challenger/`` by :meth:`_save_state`."""
        rules = load_document(Path(self.rules)) if isinstance(self.rules, str) else self.rules
        return {**self.get_params(), "challenger": None, "rules": rules}

    @classmethod
    def _from_saved_params(cls, params: dict[str, Any]) -> Self:
        """Also read a guard saved before the challenger was a policy object.

        Such a ``policy.json`` holds the challenger's spec (``"linucb:alpha=0.1"``)
        and a ``random_state`` for it: the challenger is built from them, as
        the guard then did, and replaced by the saved one if ``challenger/``
        holds it (:meth:`_load_state`).
        """
        spec = params.get("challenger")
        if not isinstance(spec, str):
            return super()._from_saved_params(params)
        rest = {k: v for k, v in params.items() if k not in ("challenger", "random_state")}
        challenger = make_policy(
            spec, random_state=params.get("random_state"), rules=params.get("rules")
        )
        policy = cls(challenger=challenger, **rest)
        policy._challenger_spec = spec
        return policy

    def _save_state(self, out: Path) -> None:
        inner, _ = self._parts()
        target = out / CHALLENGER_DIR
        if target.exists():
            shutil.rmtree(target)
        inner.save(target)
        state = {
            "share": self.share_,
            "stats": self.stats_.tolist(),
            "n": self.n_examples_,
            "challenger_spec": getattr(self, "_challenger_spec", None),
        }
        (out / "guard.json").write_text(json.dumps(state))

    def _load_state(self, src: Path) -> None:
        if not (src / CHALLENGER_DIR / POLICY_FILE).is_file():
            return
        self.challenger = load_policy(src / CHALLENGER_DIR)
        state = json.loads((src / "guard.json").read_text())
        self.share_ = float(state["share"])
        self.stats_ = np.asarray(state["stats"], dtype=np.float64)
        self.n_examples_ = int(state["n"])
        if state.get("challenger_spec"):
            self._challenger_spec = state["challenger_spec"]
