"""The hyperparameters of :class:`~nba.policies.vw.VWPolicy`, checked and turned into
Vowpal Wabbit's command line (``--cb_explore_adf`` and the exploration algorithm's flags).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

import numpy as np

from nba.exceptions import PolicyError
from nba.policies.base import is_integer, is_real
from nba.policies.vw.examples import ACTION_NS, CONTEXT_NS, fmt

__all__ = ["ALGOS", "VWFlags"]

#: Exploration algorithms of ``--cb_explore_adf`` that :class:`VWPolicy` builds flags for.
ALGOS: tuple[str, ...] = ("squarecb", "epsilon", "bag", "cover", "softmax")
#: Defaults when ``algo`` is ``bag`` / ``cover`` and the size is not given.
DEFAULT_BAG = 5
DEFAULT_COVER = 3

#: Flags that :class:`VWPolicy` sets itself (or that would break it); not allowed in
#: ``extra_flags``.
_RESERVED_FLAGS = {
    "--cb_explore_adf": "it is always set",
    "--squarecb": "use `algo`",
    "--first": "not supported",
    "--bag": "use `algo='bag'` and `bag`",
    "--cover": "use `algo='cover'` and `cover`",
    "--softmax": "use `algo='softmax'` and `softmax_lambda`",
    "--epsilon": "use `epsilon`",
    "--gamma_scale": "use `gamma_scale`",
    "--lambda": "use `softmax_lambda`",
    "-l": "use `learning_rate`",
    "--learning_rate": "use `learning_rate`",
    "--random_seed": "use `random_state`",
    "-d": "the policy feeds VW itself",
    "--data": "the policy feeds VW itself",
    "--passes": "the policy feeds VW itself",
    "-i": "use `nba.policies.registry.load_policy`",
    "--initial_regressor": "use `nba.policies.registry.load_policy`",
    "-f": "use `VWPolicy.save`",
    "--final_regressor": "use `VWPolicy.save`",
    "-p": "predictions are returned by `predict_proba`",
    "--predictions": "predictions are returned by `predict_proba`",
}


class VWFlags:
    """The hyperparameters' checks, VW's command line and the seed (a base of ``VWPolicy``).

    The constructor of :class:`~nba.policies.vw.VWPolicy` stores the
    hyperparameters; they are checked here, when the command line is built.
    """

    algo: str
    epsilon: float | None
    gamma_scale: float | None
    bag: int | None
    cover: int | None
    softmax_lambda: float | None
    interactions: str | Sequence[str]
    learning_rate: float | None
    extra_flags: str
    random_state: int | np.random.Generator | None

    def _fail(self, message: str) -> PolicyError:
        return PolicyError(f"VWPolicy: {message}")

    def _check_number(self, name: str, low: float, high: float | None = None) -> str:
        value = getattr(self, name)
        strict = name in ("gamma_scale", "learning_rate")
        ok = is_real(value) and (value > low if strict else value >= low)
        if ok and high is not None:
            ok = value <= high
        if not ok:
            bound = (
                f"in [{low:g}, {high:g}]"
                if high is not None
                else (f"> {low:g}" if strict else f">= {low:g}")
            )
            raise self._fail(f"`{name}` must be a finite number {bound}, got {value!r}")
        return fmt(value)

    def _check_count(self, name: str, default: int) -> str:
        value = getattr(self, name)
        if value is None:
            return str(default)
        if not is_integer(value) or value < 1:
            raise self._fail(f"`{name}` must be an integer >= 1, got {value!r}")
        return str(int(value))

    def _interaction_terms(self) -> list[str]:
        spec = self.interactions
        if isinstance(spec, str):
            terms = [t for t in re.split(r"[\s,]+", spec) if t]
        elif isinstance(spec, Sequence) and all(isinstance(t, str) for t in spec):
            terms = [t.strip() for t in spec if t.strip()]
        else:
            raise self._fail(
                f"`interactions` must be a string like 'ca' or a list of them, got {spec!r}"
            )
        for term in terms:
            if len(term) < 2 or set(term) - {CONTEXT_NS, ACTION_NS}:
                raise self._fail(
                    f"`interactions` term {term!r} must combine at least two of the "
                    f"namespaces '{CONTEXT_NS}' (context) and '{ACTION_NS}' (action), "
                    "e.g. 'ca'"
                )
        return terms

    def _extra_tokens(self) -> list[str]:
        if not isinstance(self.extra_flags, str):
            raise self._fail(f"`extra_flags` must be a string, got {self.extra_flags!r}")
        try:
            tokens = shlex.split(self.extra_flags)
        except ValueError as exc:
            raise self._fail(f"`extra_flags` {self.extra_flags!r}: {exc}") from None
        for token in tokens:
            flag = token.split("=", 1)[0]
            if flag in _RESERVED_FLAGS:
                raise self._fail(f"`extra_flags` may not contain `{flag}`: {_RESERVED_FLAGS[flag]}")
        return tokens

    def vw_args(self) -> list[str]:
        """The VW command line built from the hyperparameters (seed excluded).

        Returns
        -------
        The tokens passed to ``vowpalwabbit.Workspace`` (the policy appends
        ``--random_seed``).

        Raises
        ------
        PolicyError
            If a hyperparameter is invalid or does not apply to ``algo``.

        Examples
        --------
        >>> from nba.policies.vw import VWPolicy
        >>> VWPolicy(algo="cover", cover=4, epsilon=0.02).vw_args()
        ['--cb_explore_adf', '--quiet', '--cover', '4', '--epsilon', '0.02', '--interactions', 'ca']
        """
        algo = self.algo
        if algo not in ALGOS:
            raise self._fail(f"`algo` must be one of {', '.join(ALGOS)}, got {algo!r}")
        only = {
            "gamma_scale": "squarecb",
            "bag": "bag",
            "cover": "cover",
            "softmax_lambda": "softmax",
        }
        for name, owner in only.items():
            if getattr(self, name) is not None and algo != owner:
                raise self._fail(f"`{name}` applies only to algo='{owner}', not algo='{algo}'")
        args = ["--cb_explore_adf", "--quiet"]
        if algo == "squarecb":
            args.append("--squarecb")
            if self.gamma_scale is not None:
                args += ["--gamma_scale", self._check_number("gamma_scale", 0.0)]
        elif algo == "bag":
            args += ["--bag", self._check_count("bag", DEFAULT_BAG)]
        elif algo == "cover":
            args += ["--cover", self._check_count("cover", DEFAULT_COVER)]
        elif algo == "softmax":
            args.append("--softmax")
            if self.softmax_lambda is not None:
                args += ["--lambda", self._check_number("softmax_lambda", 0.0)]
        if self.epsilon is not None:
            args += ["--epsilon", self._check_number("epsilon", 0.0, 1.0)]
        for term in self._interaction_terms():
            args += ["--interactions", term]
        if self.learning_rate is not None:
            args += ["--learning_rate", self._check_number("learning_rate", 0.0)]
        return args + self._extra_tokens()

    def _validate_params(self) -> None:
        """Check every hyperparameter without opening a workspace.

        :func:`~nba.policies.spec.make_policy` calls this, so that a spec such
        as ``vw:epsilon=nan`` is refused when it is built rather than when VW
        first opens. Flags that only VW itself can judge in ``extra_flags``
        are still checked when the workspace opens.

        Raises
        ------
        PolicyError
            Naming the first invalid hyperparameter and its value.
        """
        self.vw_args()
        self._check_random_state()

    def _check_random_state(self) -> None:
        rs = self.random_state
        if rs is None or isinstance(rs, np.random.Generator):
            return
        if not (is_integer(rs) and 0 <= rs < 2**63):
            raise self._fail(
                f"`random_state` must be None, an integer >= 0 or a numpy Generator, got {rs!r}"
            )

    def _resolve_seed(self) -> int:
        self._check_random_state()
        rs = self.random_state
        if rs is None:
            return int(np.random.default_rng().integers(2**31))
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(2**31))
        return int(rs)
