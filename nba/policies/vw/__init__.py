"""Vowpal Wabbit contextual bandits: ``--cb_explore_adf`` with typed flags.

Each decision is one VW *multi-line* example: a **shared** example holding
the customer's context features (namespace ``c``, non-zero values only) and
one example per allowed action holding the action's features (namespace
``a``), with interactions between them (``-q ca`` by default) so the best
action can depend on the customer. VW learns a cost regressor over these
features (``cb_type mtr``) and turns its scores into a distribution with the
chosen exploration algorithm:

- ``squarecb`` (default): inverse-gap weighting of the regressor's scores
  (Foster & Rakhlin 2020, "Beyond UCB: optimal and efficient contextual
  bandits with regression oracles"); ``gamma_scale`` sets how fast the
  distribution concentrates on the best action;
- ``epsilon``: ε-greedy, ``epsilon`` spread uniformly (VW's default 0.05);
- ``bag``: bootstrap Thompson sampling over ``bag`` online bootstrap
  replicates (Eckles & Kaptein 2014);
- ``cover``: online cover, ``cover`` policies trained to explore where they
  disagree (Agarwal et al. 2014, "Taming the monster");
- ``softmax``: probabilities proportional to ``exp(-softmax_lambda * cost)``.

``epsilon`` also mixes uniform exploration into the other algorithms when set.
The algorithms are compared in Bietti, Agarwal & Langford 2021 ("A contextual
bandit bake-off").

Rewards become VW costs as **cost = −reward**: VW minimises cost, nba
maximises reward. The logged propensity is the label's probability, so each
row is learned as ``0:<cost>:<propensity>`` on the chosen action's line.

Speed: what costs in Python is writing and parsing VW's text format, not
VW's own work. The policy therefore parses each action's example **once per
action space** and reuses the parsed examples for every later prediction and
update, and fills each decision's shared example by pushing pre-hashed
feature ids (no text at all). This is safe: during ``predict``/``learn``
VW's ADF reduction copies the shared features into the action examples and
removes them afterwards, leaving them as parsed. The chosen action's
*labelled* example is parsed with its label and kept for reuse once that
label comes back: VW leaves the label it learns from as it was, except
SquareCB, which learns from probability 1 on every example but the last
(the position is part of the key).

Learning from logs: with VW's default ``--cb_type mtr``, an update reads
the shared and the chosen action's example, the chosen one's position and
the *number* of actions (its importance weight is ``1/p`` times
``event_sum/action_sum``, the inverse of the running mean number of
actions), not the other actions' features. For ``squarecb``, ``epsilon``,
``softmax`` and ``bag``, :meth:`VWPolicy.partial_fit` therefore gives VW
featureless placeholders for the unchosen actions; ``cover`` (whose cover
policies learn from every action) and other ``cb_type`` values get the full
example. Giving VW the chosen action alone would be cheaper still, but it
learns a different model (the weight above changes), so it is not done.

The tests check that these paths give the same probabilities and the same
learned model as VW's plain text path for every algorithm. Because the
cached examples are mutated while VW works on them, calls into one policy
are serialised with a lock.

Where things live: the hyperparameters and VW's command line in
:mod:`~nba.policies.vw.flags`, VW's text format in
:mod:`~nba.policies.vw.examples`, the workspace, its parsed examples and its
ownership (open, close, save, load) in :mod:`~nba.policies.vw.workspace`,
deciding and learning in :mod:`~nba.policies.vw.policy`.
"""

from nba.policies.vw.examples import sanitize_feature_name
from nba.policies.vw.flags import ALGOS
from nba.policies.vw.policy import VWPolicy

__all__ = ["VWPolicy", "ALGOS", "sanitize_feature_name"]
