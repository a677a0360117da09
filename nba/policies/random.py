"""Reference policies that do not learn: uniform random and constant.

:class:`RandomPolicy` is the uniform-exploration reference (and the logging
policy whose data every off-policy estimator handles best);
:class:`ConstantPolicy` always picks one action — e.g. ``constant`` alone is
the "send nothing" baseline, ``constant:action=welcome@email`` a blanket
campaign.
"""

from __future__ import annotations

import numpy as np

from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.policies.base import Policy, check_allowed, uniform

__all__ = ["RandomPolicy", "ConstantPolicy"]


class RandomPolicy(Policy):
    """Uniform over the allowed actions.

    Parameters
    ----------
    random_state
        Unused (the distribution is fixed; sampling happens in the
        pipeline); accepted for a uniform interface.

    Examples
    --------
    >>> import numpy as np
    >>> from nba.catalog import ActionSpace
    >>> from nba.features.context import Context
    >>> ctx = Context(np.zeros((2, 1)), ActionSpace.from_labels(["a", "b", "c"]))
    >>> RandomPolicy().predict_proba(ctx, np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool))
    array([[0.5 , 0.5 , 0.  , 0.  ],
           [0.25, 0.25, 0.25, 0.25]])
    """

    name = "random"
    kind = "random"

    def __init__(self, *, random_state: int | None = None) -> None:
        self.random_state = random_state

    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """Uniform distribution over each customer's allowed actions.

        Parameters
        ----------
        context
            The customers' context (n customers); only its size is used.
        allowed
            Shape (n_customers, n_actions) bool.

        Returns
        -------
        Shape (n_customers, n_actions): zero outside ``allowed``, rows sum to 1.

        Raises
        ------
        PolicyError
            If ``allowed`` has the wrong shape or a row allows nothing.
        """
        return uniform(check_allowed(allowed, len(context), context.n_actions))


class ConstantPolicy(Policy):
    """All mass on one action; no-contact where that action is not allowed.

    Parameters
    ----------
    action
        Id of the action (``message@channel``, or a label of an external
        log's action space); the default, ``"no_contact"``, never contacts
        anyone. Rows where neither the action nor no-contact is allowed get
        the uniform distribution over what is allowed.

    Examples
    --------
    >>> import numpy as np
    >>> from nba.catalog import ActionSpace
    >>> from nba.features.context import Context
    >>> ctx = Context(np.zeros((2, 1)), ActionSpace.from_labels(["a", "b"]))
    >>> ConstantPolicy(action="b").predict_proba(ctx, np.array([[1, 1, 1], [1, 1, 0]], bool))
    array([[0., 0., 1.],
           [1., 0., 0.]])
    >>> try:
    ...     ConstantPolicy(action="zz").predict_proba(ctx, np.ones((2, 3), bool))
    ... except PolicyError as exc:
    ...     print(exc)
    constant policy: unknown action `zz`; expected one of no_contact, a, b
    """

    name = "constant"
    kind = "baseline"

    def __init__(self, *, action: str = "no_contact") -> None:
        self.action = action

    def predict_proba(self, context: Context, allowed: np.ndarray) -> np.ndarray:
        """One-hot on ``action`` where allowed, else on no-contact.

        Parameters
        ----------
        context
            The customers' context (n customers); only its size and action
            space are used.
        allowed
            Shape (n_customers, n_actions) bool.

        Returns
        -------
        Shape (n_customers, n_actions): zero outside ``allowed``, rows sum to 1.

        Raises
        ------
        PolicyError
            If ``action`` is not in the action space, or ``allowed`` is invalid.
        """
        allowed = check_allowed(allowed, len(context), context.n_actions)
        try:
            target = context.actions.index(self.action)
        except KeyError:
            raise PolicyError(
                f"constant policy: unknown action `{self.action}`; "
                f"expected one of {', '.join(context.actions.ids)}"
            ) from None
        out = np.zeros(allowed.shape)
        hit = allowed[:, target]
        out[hit, target] = 1.0
        fallback = ~hit & allowed[:, 0]
        out[fallback, 0] = 1.0
        stuck = ~hit & ~allowed[:, 0]
        if stuck.any():
            out[stuck] = uniform(allowed[stuck])
        return out
