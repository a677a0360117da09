"""Decisions as JSON text, rendered straight from the batch's arrays and the runtime's
precomputed fragments (no per-field objects): the decision endpoints' hot path.

The text is the JSON of the decision shape of docs/contracts.md plus ``holdout`` and
``distribution``; ``tests/service/test_render.py`` checks it against a plain
``json.dumps`` of the same decisions.
"""

from __future__ import annotations

import json

import numpy as np

from nba.pipeline import DecisionBatch

from .runtime import Runtime

__all__ = ["decisions_json"]

_FEW = 4  # decisions_json renders up to this many decisions row by row


def decisions_json(rt: Runtime, batch: DecisionBatch, *, explain: bool = True) -> list[str]:
    """The decisions as JSON objects (docs/contracts.md's shape, plus ``holdout`` and
    ``distribution``), rendered from the arrays without per-field objects.

    With ``explain=False`` the bulky ``suppressed`` and ``distribution``
    fields are left out (campaign lists that only need the actions).
    """
    heads = _json_heads(rt, batch)
    if not explain:
        return [h + "}" for h in heads]
    n = len(batch)
    if n <= _FEW:
        return [_json_tail(rt, batch, i, heads[i]) for i in range(n)]
    # row i's suppressions are sup[sup_end[i-1]:sup_end[i]], its distribution
    # dist[dist_end[i-1]:dist_end[i]] (flat lists: slicing beats a list of arrays)
    reason = batch.guardrails.reason
    rr, rc = np.nonzero(reason >= 0)
    sup = rt.sup_json[rc, reason[rr, rc]].tolist()
    sup_end = np.cumsum(np.bincount(rr, minlength=n)).tolist()
    ar, ac = np.nonzero(batch.guardrails.allowed)
    keys = np.asarray(rt.dist_key, dtype=object)[ac]
    vals = batch.probs[ar, ac].tolist()
    dist = [k + repr(v) for k, v in zip(keys.tolist(), vals, strict=True)]
    dist_end = np.cumsum(np.bincount(ar, minlength=n)).tolist()
    out = []
    s_lo = d_lo = 0
    for i in range(n):
        s_hi, d_hi = sup_end[i], dist_end[i]
        out.append(
            f'{heads[i]},"suppressed":[{",".join(sup[s_lo:s_hi])}],'
            f'"distribution":{{{",".join(dist[d_lo:d_hi])}}}}}'
        )
        s_lo, d_lo = s_hi, d_hi
    return out


def _json_tail(rt: Runtime, batch: DecisionBatch, i: int, head: str) -> str:
    """Row ``i``'s JSON from its head, row by row: for a few decisions, cheaper
    than :func:`decisions_json`'s whole-batch arrays (same text)."""
    sup, keys = rt.sup_json, rt.dist_key
    reason = batch.guardrails.reason[i].tolist()
    allowed = batch.guardrails.allowed[i].tolist()
    probs = batch.probs[i].tolist()
    s = ",".join([sup[a, r] for a, r in enumerate(reason) if r >= 0])
    d = ",".join([keys[a] + repr(probs[a]) for a, ok in enumerate(allowed) if ok])
    return f'{head},"suppressed":[{s}],"distribution":{{{d}}}}}'


def _json_heads(rt: Runtime, batch: DecisionBatch) -> list[str]:
    """Each decision's JSON object up to (not including) its closing brace, without
    the ``suppressed`` and ``distribution`` fields."""
    policy = json.dumps({"name": batch.policy_name, "version": batch.policy_version})
    created = json.dumps(batch.created_at.isoformat())
    ids = batch.decision_ids
    cust = batch.signals.customer_ids
    action = batch.action.tolist()
    prop = batch.propensity.tolist()
    explored = batch.explored.tolist()
    holdout = batch.guardrails.holdout.tolist()
    return [
        f'{{"decision_id":"{ids[i]}","customer_id":{json.dumps(str(cust[i]))},'
        f'"action":{rt.action_json[action[i]]},"propensity":{prop[i]!r},'
        f'"policy":{policy},"explored":{"true" if explored[i] else "false"},'
        f'"created_at":{created},"holdout":{"true" if holdout[i] else "false"}'
        for i in range(len(action))
    ]
