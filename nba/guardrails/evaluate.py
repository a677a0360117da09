"""Evaluating guardrails for a batch of customers, with the reason for each removal."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from operator import itemgetter

import numpy as np

from nba.catalog import Catalog
from nba.decision import Suppression
from nba.features.signals import Signals, signal_definitions
from nba.guardrails.kinds import COMPARE, KINDS, Actions, Tests, condition
from nba.guardrails.rules import GuardrailsSpec

__all__ = ["Guardrails", "GuardrailResult", "holdout_draw"]

CONSENT = "consent"
HOLDOUT = "holdout"


def holdout_draw(customer_ids: np.ndarray, salt: str) -> np.ndarray:
    """A stable uniform number in [0, 1) per customer id (salted hash).

    The 8-byte BLAKE2b digest of the id keyed by the salt, read as a
    big-endian integer, over 2**64.

    Examples
    --------
    >>> a = holdout_draw(np.array(["c1", "c2"], dtype=object), "s")
    >>> bool((a == holdout_draw(np.array(["c1", "c2"], dtype=object), "s")).all())
    True
    """
    return _hashes(_keyed(salt), customer_ids) / 2.0**64


def _keyed(salt: str) -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=8, key=salt.encode())


def _hashes(keyed: hashlib.blake2b, customer_ids: np.ndarray) -> np.ndarray:
    """Shape (n,) big-endian uint64: the ids' digests from a state that absorbed the key."""
    # copying the keyed state skips absorbing the key block again for each id
    digests = []
    for c in customer_ids.tolist():
        h = keyed.copy()
        h.update(str(c).encode())
        digests.append(h.digest())
    return np.frombuffer(b"".join(digests), dtype=">u8")


def _holdout_below(share: float) -> int:
    """How many 64-bit digests u have a draw ``float(u) / 2**64`` below ``share``.

    The holdout is then ``u < _holdout_below(share)``, the same test as on
    :func:`holdout_draw` without converting every digest to a float.
    """
    lo, hi = 0, 2**64  # the draw is non-decreasing in u: find the first u at or above
    while lo < hi:
        mid = (lo + hi) // 2
        if float(mid) / 2.0**64 < share:
            lo = mid + 1
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class GuardrailResult:
    """What the guardrails allow for n customers.

    Attributes
    ----------
    allowed
        Shape (n_customers, n_actions) bool; no-contact is always allowed.
    reason
        Shape (n_customers, n_actions) int: index into ``rule_names`` of the
        first rule that removed the action, -1 where allowed.
    rule_names
        Names of the rules, ``reason``'s vocabulary.
    holdout
        Shape (n_customers,) bool: in the global holdout.
    """

    allowed: np.ndarray
    reason: np.ndarray
    rule_names: tuple[str, ...]
    holdout: np.ndarray

    def suppressed(self, i: int, catalog: Catalog) -> tuple[Suppression, ...]:
        """The removed actions of customer ``i``, each with its rule."""
        acts = catalog.actions.actions
        return tuple(
            Suppression(
                acts[a].message_id or "", acts[a].channel or "", self.rule_names[self.reason[i, a]]
            )
            for a in np.flatnonzero(self.reason[i] >= 0)
        )


#: Bits per word of the per-customer rule bit sets.
_WORD = 64

#: Customers per block when expanding bit sets to (customers, actions): keeps
#: the uint64 temporaries in the CPU caches.
_CHUNK = 4096


def _getter(names: tuple[str, ...]) -> Callable[[Mapping[str, np.ndarray]], tuple[np.ndarray, ...]]:
    """Looks the names up in a mapping at C speed, always giving a tuple."""
    if len(names) > 1:
        return itemgetter(*names)
    return lambda values: tuple(values[name] for name in names)


def _column(values: list[float]) -> np.ndarray:
    """Shape (k, 1) float64: per-term constants, broadcast against (k, n_customers)."""
    return np.array(values, dtype=np.float64).reshape(-1, 1)


def _lowest(hit: np.ndarray, reason_of_bit: np.ndarray) -> np.ndarray:
    """The reason code of the lowest set bit of each entry of ``hit`` (-1: none)."""
    # h & -h isolates the lowest set bit, the first rule in evaluation order;
    # frexp gives its position + 1 exactly (0 when no bit is set)
    return reason_of_bit.take(np.frexp(hit & -hit)[1])


class Guardrails:
    """Compiled guardrails for one catalog.

    The rules are compiled once, at construction, into *terms*: boolean
    tests of a customer's signals that remove the actions in a rule's scope
    when true (a cap's count reaching its maximum, an eligibility condition
    failing, a message not sent yet, ...). Each kind of term is evaluated
    for all its rules and all customers in a few numpy operations into a
    (n_terms, n_customers) table. Each rule then owns one bit, in
    evaluation order (holdout, consent per channel, then the rules): a
    customer's firing terms are ORed into a bit set, ANDed with each
    action's scope bits, and the lowest set bit left names the first rule
    that removes the action. No Python loop runs over rules, actions or
    customers per call, so one customer costs a few dozen numpy calls.

    Parameters
    ----------
    spec
        The validated rules (:func:`nba.guardrails.parse_guardrails`).
    catalog
        The catalog the rules were validated against; the signals evaluated
        must come from it (same channels and messages, in order).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from nba.catalog import Catalog
    >>> from nba.features.state import CustomerStates
    >>> from nba.guardrails.rules import parse_guardrails
    >>> cat = Catalog.from_dict({"channels": [{"id": "sms", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> g = Guardrails(parse_guardrails({}, cat), cat)
    >>> sig = CustomerStates(cat, ["c1"]).signals(datetime(2026, 1, 1, tzinfo=UTC))
    >>> res = g.evaluate(sig)
    >>> res.allowed.tolist(), [s.rule for s in res.suppressed(0, cat)]
    ([[True, False]], ['consent'])
    """

    def __init__(self, spec: GuardrailsSpec, catalog: Catalog) -> None:
        self.spec = spec
        self.catalog = catalog
        #: Every rule name, in evaluation order (holdout and consent first):
        #: the vocabulary of :attr:`GuardrailResult.reason`.
        self.rule_names: tuple[str, ...] = (HOLDOUT, CONSENT, *(r.name for r in spec.rules))
        self._full_budget = {b.channel: float(b.max_per_day) for b in spec.budgets}
        self._compile_budgets()
        consent_cols, slot_of = self._compile_slots(self._scope())
        self._compile_terms(consent_cols, self._sort_tests(slot_of))

    def full_budgets(self) -> dict[str, float]:
        """Sends left per budgeted channel at the start of a day (a new dict)."""
        return dict(self._full_budget)

    def _compile_budgets(self) -> None:
        """What the pipeline needs to share daily budgets within a batch."""
        codes = {b.channel: self.rule_names.index(b.name) for b in self.spec.budgets}
        ci = self.catalog.actions.channel_index
        scope = []
        for channel, code in codes.items():
            j = self.catalog.channel_ids.index(channel)
            scope.append((channel, j, code, np.flatnonzero(ci == j)))
        #: Per budgeted channel: its id, its index in the catalog, its budget
        #: rule's index in :attr:`rule_names` (the last rule, if several share
        #: the channel) and the actions on it, shape (k,) int.
        self.budget_scope: tuple[tuple[str, int, int, np.ndarray], ...] = tuple(scope)
        #: Shape (n_actions,) bool: the actions on a channel with a daily budget.
        self.budgeted = np.zeros(len(self.catalog.actions), dtype=bool)
        for *_, cols in self.budget_scope:
            self.budgeted[cols] = True

    def _scope(self) -> np.ndarray:
        """Shape (n_rules, n_actions): which actions each rule is about."""
        cat, space = self.catalog, self.catalog.actions
        mi, ci = space.message_index, space.channel_index
        actions = Actions(
            cat,
            mi >= 0,
            np.array([cat.channel_ids[c] if c >= 0 else "" for c in ci], dtype=object),
            np.array([cat.message_ids[m] if m >= 0 else "" for m in mi], dtype=object),
        )
        out = np.zeros((len(self.rule_names), len(space)), dtype=bool)
        out[0] = actions.is_contact  # holdout: every contact
        for code, rule in enumerate(self.spec.rules, start=2):
            out[code] = actions.is_contact & KINDS[rule.kind].scope(rule, actions)
        return out

    def _compile_slots(self, scope: np.ndarray) -> tuple[list[int], dict[int, int]]:
        """Give each rule its bit, in evaluation order; set the scope bits.

        Consent takes one slot per channel that needs it (its scope differs
        per channel), all reported as `consent`; a rule about no action takes
        none.

        Returns
        -------
        tuple
            The channels whose consent is needed, and the slot of each rule
            (by its index in :attr:`rule_names`).
        """
        ci = self.catalog.actions.channel_index
        slot_code: list[int] = [0]
        slot_scope: list[np.ndarray] = [scope[0]]
        consent_cols: list[int] = []
        for j, ch in enumerate(self.catalog.channels):
            if ch.requires_consent and (ci == j).any():
                consent_cols.append(j)
                slot_code.append(1)
                slot_scope.append(ci == j)
        slot_of: dict[int, int] = {}
        for code in range(2, len(self.rule_names)):
            if scope[code].any():
                slot_of[code] = len(slot_code)
                slot_code.append(code)
                slot_scope.append(scope[code])
        n_words = -(-len(slot_code) // _WORD)
        bits = np.zeros((n_words, scope.shape[1]), dtype=np.uint64)
        # lowest-bit exponent (frexp: bit b -> b + 1, no bit -> 0) -> reason code
        codes = np.full((n_words, _WORD + 1), -1, dtype=np.int16)
        for s, (code, mask) in enumerate(zip(slot_code, slot_scope, strict=True)):
            bits[s // _WORD, mask] |= np.uint64(1 << (s % _WORD))
            codes[s // _WORD, s % _WORD + 1] = code
        self._scope_bits: list[np.ndarray] = list(bits)
        self._reason_of_bit: list[np.ndarray] = list(codes)
        # rules that fire for everyone (suitability) or on today's budget
        self._const_bits = [0] * n_words
        self._budget_bits: list[tuple[str, int, int]] = []  # (channel, word, bit)
        return consent_cols, slot_of

    def _sort_tests(self, slot_of: dict[int, int]) -> Tests:
        """Turn each rule into tests that fire its slot's bit.

        Most compare a signal (or a sum of signals, times a scale) with a
        constant: they are filed by operator, to be computed by one numpy
        call per operator over every rule.
        """
        channels = self.catalog.channel_ids
        tests = Tests(
            channels,
            self.catalog.message_ids,
            {d.name for d in signal_definitions(channels)},
            {op: [] for op in COMPARE},
        )
        for code, slot in slot_of.items():
            rule = self.spec.rules[code - 2]
            KINDS[rule.kind].tests(rule, slot, tests)
        for slot in tests.always:
            self._const_bits[slot // _WORD] |= 1 << (slot % _WORD)
        self._budget_bits += [(ch, s // _WORD, 1 << (s % _WORD)) for ch, s in tests.budgets]
        compare = tests.compare
        # "start <= hour < end" closes the >= and < groups, in the same order,
        # so that one `and` combines them (into the start rows; the end rows
        # set no bit)
        compare[">="] += [a for a, _ in tests.between]
        compare["<"] += [replace(b, slot=None) for _, b in tests.between]
        return tests

    def _compile_terms(self, consent_cols: list[int], tests: Tests) -> None:
        """Lay the tests out as the rows ("terms") of the per-call table.

        Each group of tests computed together gets a slice of rows; each row
        the bit it sets when it fires.
        """
        term_slot: list[int | None] = []
        negate: list[bool] = []

        def add(slots: list[int | None], negated: bool = False) -> slice:
            term_slot.extend(slots)
            negate.extend([negated] * len(slots))
            return slice(len(term_slot) - len(slots), len(term_slot))

        self._holdout: tuple[int, int, hashlib.blake2b] | None = None
        if self.spec.holdout is not None and self.spec.holdout.share > 0:
            below = _holdout_below(self.spec.holdout.share)
            self._holdout = (add([0]).start, below, _keyed(self.spec.holdout.salt))
        self._consent: tuple[slice, np.ndarray] | None = None
        if consent_cols:  # the term: no consent
            rows = add(list(range(1, 1 + len(consent_cols))), negated=True)
            self._consent = (rows, np.array(consent_cols, dtype=np.intp))
        # comparisons: the signals they read are stacked (one row per signal
        # read) and summed per term by one reduceat, giving a row per term
        self._compare: list[tuple[slice, slice, np.ufunc, np.ndarray, np.ndarray | None]] = []
        first = len(term_slot)
        read: list[str] = []
        starts: list[int] = []
        ends: dict[str, int] = {}  # operator -> end of its rows
        for op, group in tests.compare.items():
            if not group:
                continue
            rows = slice(len(term_slot), len(term_slot) + len(group))
            for test in group:
                add([test.slot], test.negate)
                starts.append(len(read))
                read += test.signals
            scale = _column([test.scale for test in group])
            self._compare.append(
                (
                    rows,
                    slice(rows.start - first, rows.stop - first),
                    COMPARE[op],
                    _column([test.value for test in group]),
                    scale if (scale != 1.0).any() else None,
                )
            )
            ends[op] = rows.stop
        self._read, self._sums = tuple(read), np.array(starts, dtype=np.intp)
        self._get_read = _getter(self._read)
        k = len(tests.between)
        self._between = (
            (slice(ends[">="] - k, ends[">="]), slice(ends["<"] - k, ends["<"])) if k else None
        )
        self._general = [(add([s], negated=True).start, c, v) for s, c, v in tests.general]
        # progression: a required message never sent, or one sent too recently;
        # the message columns of both are read at once
        self._progression: tuple[slice, slice, np.ndarray, np.ndarray] | None = None
        if tests.requires or tests.not_within:
            never = add([s for s, _ in tests.requires])
            recent = add([s for s, _, _ in tests.not_within])
            msgs = [m for _, m in tests.requires] + [m for _, m, _ in tests.not_within]
            days = _column([d for _, _, d in tests.not_within])
            self._progression = (never, recent, np.array(msgs, dtype=np.intp), days)
        self._negate = np.array(negate, dtype=bool).reshape(-1, 1) if any(negate) else None
        # per word, shape (n_terms, 1): the bit each term sets when it fires
        term_bits = np.zeros((len(self._const_bits), len(term_slot), 1), dtype=np.uint64)
        for row, sets in enumerate(term_slot):
            if sets is not None:
                term_bits[sets // _WORD, row, 0] = np.uint64(1 << (sets % _WORD))
        self._term_bits = list(term_bits)

    def _terms(self, signals: Signals) -> np.ndarray:
        """Shape (n_terms, n): which terms fire for each customer."""
        n = len(signals)
        terms = np.empty((self._term_bits[0].shape[0], n), dtype=bool)
        if self._holdout is not None:
            row, below, key = self._holdout
            np.less(_hashes(key, signals.customer_ids), below, out=terms[row])
        if self._consent is not None:
            rows, chans = self._consent
            terms[rows] = signals.consent.T[chans]
        if self._compare:
            v = signals.values
            read = np.concatenate(self._get_read(v)).reshape(len(self._read), n)
            lhs = np.add.reduceat(read, self._sums, axis=0)  # in channel order, like `sum`
            for rows, sums, op, values, scale in self._compare:
                op(lhs[sums] if scale is None else lhs[sums] * scale, values, out=terms[rows])
            if self._between is not None:
                after, before = self._between
                np.logical_and(terms[after], terms[before], out=terms[after])
        for row, cond, value in self._general:
            terms[row] = condition(cond, value, signals)
        if self._progression is not None:
            never, recent, msgs, days = self._progression
            since = signals.days_since_message.T[msgs]  # rows of `never`, then of `recent`
            k = never.stop - never.start
            np.isinf(since[:k], out=terms[never])
            np.less(since[k:], days, out=terms[recent])
        if self._negate is not None:
            np.not_equal(terms, self._negate, out=terms)
        return terms

    def _first_rule(self, fired: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Allowed and reason arrays, shape (n, n_actions), from the rules that fire.

        ``fired`` holds, per word, each customer's bit set of firing rules,
        shape (n,) uint64.
        """
        hit = fired[0][:, None] & self._scope_bits[0]
        allowed, reason = hit == 0, _lowest(hit, self._reason_of_bit[0])
        for w in range(1, len(fired)):  # more than one word: the first word's rule first
            hit = fired[w][:, None] & self._scope_bits[w]
            np.copyto(reason, _lowest(hit, self._reason_of_bit[w]), where=reason < 0)
            allowed &= hit == 0
        return allowed, reason

    def evaluate(
        self, signals: Signals, budget_left: Mapping[str, float] | None = None
    ) -> GuardrailResult:
        """Allowed actions for n customers, and why the others were removed.

        Parameters
        ----------
        signals
            The customers' signals at decision time.
        budget_left
            Sends left today per channel with a budget (default: the full
            budget). The pipeline allocates budgets within a batch.

        Returns
        -------
        GuardrailResult
            Fresh arrays, owned by the caller.
        """
        n = len(signals)
        left = self._full_budget if budget_left is None else budget_left
        const = self._const_bits
        if self._budget_bits:
            const = list(const)
            for channel, word, bit in self._budget_bits:
                if left.get(channel, np.inf) <= 0:
                    const[word] |= bit
        terms = self._terms(signals)
        # per word, each customer's set of firing rules, shape (n,) uint64
        fired = [
            np.bitwise_or.reduce(terms * bits, axis=0, initial=c)
            for bits, c in zip(self._term_bits, const, strict=True)
        ]
        holdout = terms[self._holdout[0]] if self._holdout is not None else np.zeros(n, dtype=bool)
        if n <= _CHUNK:
            allowed, reason = self._first_rule(fired)
        else:  # in blocks: the (customers, actions) temporaries stay in cache
            allowed = np.empty((n, len(self.catalog.actions)), dtype=bool)
            reason = np.empty(allowed.shape, dtype=np.int16)
            for lo in range(0, n, _CHUNK):
                block = slice(lo, lo + _CHUNK)
                allowed[block], reason[block] = self._first_rule([f[block] for f in fired])
        return GuardrailResult(allowed, reason, self.rule_names, holdout)
