"""What a policy sees about n customers: the encoded signals and the action space.

:class:`Context` is the seam between signals and policies. It belongs here,
with the encoding that builds it (:class:`nba.features.encoding.Encoder`),
so that features never import policies; policies, the pipeline and
evaluation read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from nba.catalog import ActionSpace
from nba.features.signals import Signals

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    """What a policy sees about n customers.

    Attributes
    ----------
    X
        Encoded features, shape (n_customers, n_features), float64.
    actions
        The action space (with action features, shape (n_actions, k)).
    feature_names
        Names of the columns of ``X``.
    signals
        The raw named signals, when the context comes from nba's own signal
        code (rule policies need them); ``None`` for external logs.

    Examples
    --------
    >>> ctx = Context(np.zeros((3, 2)), ActionSpace.from_labels(["a", "b"]))
    >>> len(ctx), ctx.n_actions, len(ctx.take(np.array([0, 2])))
    (3, 3, 2)
    """

    X: np.ndarray
    actions: ActionSpace
    feature_names: tuple[str, ...] = ()
    signals: Signals | None = None

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_actions(self) -> int:
        """Number of actions, no-contact included."""
        return len(self.actions)

    def take(self, rows: np.ndarray) -> Context:
        """The context of a subset of customers (index or boolean mask)."""
        return replace(
            self,
            X=self.X[rows],
            signals=None if self.signals is None else self.signals.take(rows),
        )
