"""Tests of the Vowpal Wabbit policy, on real VW workspaces."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

import numpy as np
import pytest
import vowpalwabbit

from nba.catalog import ActionSpace
from nba.exceptions import PolicyError
from nba.features.context import Context
from nba.policies.bandit import make_linear_bandit
from nba.policies.base import LoggedBatch
from nba.policies.checks import check_learns, policy_checks
from nba.policies.registry import load_policy
from nba.policies.spec import make_policy
from nba.policies.vw import ALGOS, VWPolicy

PROBLEM = make_linear_bandit()


def _quantised(batch: LoggedBatch) -> LoggedBatch:
    """The batch with values VW's text parser reads exactly (multiples of 1/4, 1/64).

    VW's own float parser is not correctly rounded, so text and binary
    features differ in the last bit for arbitrary floats.
    """
    ctx = replace(batch.context, X=np.round(batch.context.X * 4) / 4)
    prop = np.maximum(np.round(batch.propensity * 64), 1) / 64
    return LoggedBatch(ctx, batch.allowed, batch.action, prop, np.round(batch.reward * 4) / 4)


def _eval_set(n: int = 40, seed: int = 99) -> tuple[Context, np.ndarray]:
    context, allowed = PROBLEM.sample_customers(n, np.random.default_rng(seed))
    allowed[0] = False
    allowed[0, 0] = True  # only no-contact
    allowed[1] = True  # everything
    return context, allowed


def _same_predictions(cached: VWPolicy, text: VWPolicy) -> None:
    """Both policies predict the same probabilities on quantised contexts (where
    VW's text format loses nothing), through the cached and the text path; then
    both are closed."""
    context, allowed = _eval_set()
    context = replace(context, X=np.round(context.X * 4) / 4)
    np.testing.assert_array_equal(
        cached.predict_proba(context, allowed), text._predict_proba_text(context, allowed)
    )
    cached.close()
    text.close()


# -- flags --------------------------------------------------------------------------
BASE = ["--cb_explore_adf", "--quiet"]
Q = ["--interactions", "ca"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [*BASE, "--squarecb", *Q]),
        ({"gamma_scale": 50}, [*BASE, "--squarecb", "--gamma_scale", "50.0", *Q]),
        ({"algo": "epsilon"}, [*BASE, *Q]),
        ({"algo": "epsilon", "epsilon": 0.1}, [*BASE, "--epsilon", "0.1", *Q]),
        ({"algo": "bag"}, [*BASE, "--bag", "5", *Q]),
        ({"algo": "bag", "bag": 7, "epsilon": 0.0}, [*BASE, "--bag", "7", "--epsilon", "0.0", *Q]),
        ({"algo": "cover"}, [*BASE, "--cover", "3", *Q]),
        ({"algo": "cover", "cover": 4}, [*BASE, "--cover", "4", *Q]),
        ({"algo": "softmax"}, [*BASE, "--softmax", *Q]),
        ({"algo": "softmax", "softmax_lambda": 5}, [*BASE, "--softmax", "--lambda", "5.0", *Q]),
        ({"interactions": "ca cca"}, [*BASE, "--squarecb", *Q, "--interactions", "cca"]),
        ({"interactions": ["ca", "aa"]}, [*BASE, "--squarecb", *Q, "--interactions", "aa"]),
        ({"interactions": ""}, [*BASE, "--squarecb"]),
        ({"learning_rate": 2}, [*BASE, "--squarecb", *Q, "--learning_rate", "2.0"]),
        (
            {"extra_flags": "-b 20 --power_t 0"},
            [*BASE, "--squarecb", *Q, "-b", "20", "--power_t", "0"],
        ),
    ],
)
def test_flags_per_algo(params, expected):
    policy = VWPolicy(**params)
    assert policy.vw_args() == expected
    assert policy.get_params() == {**VWPolicy().get_params(), **params}  # stored unchanged


@pytest.mark.parametrize("algo", ALGOS)
def test_every_algo_builds_a_workspace(algo):
    with VWPolicy(algo=algo, random_state=0) as policy:
        p = policy.predict_proba(*_eval_set())
        assert isinstance(policy.workspace_, vowpalwabbit.Workspace)
        assert "--random_seed" in policy.workspace_.get_arguments()
    assert np.allclose(p.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"algo": "ucb"},
            r"`algo` must be one of squarecb, epsilon, bag, cover, softmax, got 'ucb'",
        ),
        ({"algo": "epsilon", "gamma_scale": 2.0}, r"`gamma_scale` applies only to algo='squarecb'"),
        ({"bag": 3}, r"`bag` applies only to algo='bag', not algo='squarecb'"),
        ({"algo": "epsilon", "cover": 3}, r"`cover` applies only to algo='cover'"),
        ({"softmax_lambda": 2.0}, r"`softmax_lambda` applies only to algo='softmax'"),
        ({"epsilon": 1.5}, r"`epsilon` must be a finite number in \[0, 1\], got 1.5"),
        ({"epsilon": float("nan")}, r"`epsilon` must be a finite number"),
        ({"gamma_scale": 0}, r"`gamma_scale` must be a finite number > 0, got 0"),
        ({"algo": "bag", "bag": 0}, r"`bag` must be an integer >= 1, got 0"),
        ({"algo": "cover", "cover": 2.5}, r"`cover` must be an integer >= 1, got 2.5"),
        ({"algo": "softmax", "softmax_lambda": -1}, r"`softmax_lambda` must be .* >= 0"),
        ({"learning_rate": -0.1}, r"`learning_rate` must be a finite number > 0"),
        ({"interactions": "cx"}, r"`interactions` term 'cx' must combine .* 'c' .* 'a'"),
        ({"interactions": "c"}, r"`interactions` term 'c'"),
        ({"interactions": 3}, r"`interactions` must be a string"),
        ({"extra_flags": "--bag 3"}, r"`extra_flags` may not contain `--bag`: use `algo='bag'`"),
        ({"extra_flags": "--random_seed=3"}, r"may not contain `--random_seed`"),
        ({"extra_flags": "-d data.txt"}, r"may not contain `-d`"),
        ({"extra_flags": "--power_t 'unclosed"}, r"`extra_flags` .*quotation"),
        ({"extra_flags": "--no_such_flag"}, r"Vowpal Wabbit rejected .*no_such_flag"),
        ({"random_state": -1}, r"`random_state` must be None, an integer >= 0"),
        ({"random_state": "seven"}, r"`random_state` must be None"),
    ],
)
def test_bad_hyperparameters_fail_on_first_use(params, match):
    policy = VWPolicy(**params)  # the constructor only stores
    with pytest.raises(PolicyError, match=match):
        policy.predict_proba(*_eval_set())
    with pytest.raises(PolicyError, match=match):
        policy.fit(PROBLEM.logged_batch(5))


def test_make_policy_spec_round_trip():
    policy = make_policy("vw:algo=cover,cover=4,epsilon=0.02", random_state=3)
    assert isinstance(policy, VWPolicy)
    assert (policy.algo, policy.cover, policy.epsilon, policy.random_state) == ("cover", 4, 0.02, 3)
    assert make_policy(policy.spec).get_params() == policy.get_params()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("vw:epsilon=nan", "`epsilon` must be a finite number in [0, 1], got nan"),
        ("vw:epsilon=-0.1", "`epsilon` must be a finite number in [0, 1], got -0.1"),
        ("vw:algo=epsilon,epsilon=1.5", "`epsilon` must be a finite number in [0, 1], got 1.5"),
        ("vw:learning_rate=0", "`learning_rate` must be a finite number > 0, got 0"),
        ("vw:learning_rate=inf", "`learning_rate` must be a finite number > 0, got inf"),
        ("vw:gamma_scale=-1", "`gamma_scale` must be a finite number > 0, got -1"),
        (
            "vw:algo=softmax,softmax_lambda=nan",
            "`softmax_lambda` must be a finite number >= 0, got nan",
        ),
        ("vw:algo=bag,bag=0", "`bag` must be an integer >= 1, got 0"),
        ("vw:algo=cover,cover=2.5", "`cover` must be an integer >= 1, got 2.5"),
        ("vw:algo=ucb", "`algo` must be one of squarecb, epsilon, bag, cover, softmax, got 'ucb'"),
        ("vw:bag=3", "`bag` applies only to algo='bag', not algo='squarecb'"),
        ("vw:interactions=cx", "`interactions` term 'cx' must combine at least two of"),
        ("vw:extra_flags=-l 2", "`extra_flags` may not contain `-l`: use `learning_rate`"),
        (
            "vw:random_state=-1",
            "`random_state` must be None, an integer >= 0 or a numpy Generator, got -1",
        ),
    ],
)
def test_make_policy_refuses_out_of_range_values_at_once(spec, message):
    # refused when the spec is built (e.g. a model promotion), not when VW first opens
    prefix = f"policy spec `{spec}`: VWPolicy: "
    with pytest.raises(PolicyError, match="^" + re.escape(prefix + message)):
        make_policy(spec)


@pytest.mark.parametrize(
    "spec",
    [
        "vw",
        *(f"vw:algo={algo}" for algo in ALGOS),
        "vw:epsilon=0,learning_rate=2",
        "vw:epsilon=1",
        "vw:algo=softmax,softmax_lambda=0",
        "vw:algo=bag,bag=1,random_state=0",
    ],
)
def test_defaults_and_edge_values_still_build_without_opening_vw(spec):
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    policy = make_policy(spec, random_state=rng)
    assert isinstance(policy, VWPolicy) and "workspace_" not in vars(policy)
    # the check draws nothing from a Generator: the seed is drawn when VW opens
    assert rng.bit_generator.state == state


def test_a_guarded_vw_spec_checks_its_challenger_values():
    with pytest.raises(
        PolicyError, match=r"`epsilon` must be a finite number in \[0, 1\], got nan"
    ):
        make_policy("vw:epsilon=nan,guard=true")


# -- probabilities ---------------------------------------------------------------------
def test_vw_returns_probabilities_in_the_order_of_the_action_examples():
    """What the alignment relies on, checked on VW itself: permuting the action
    lines permutes the probabilities."""
    ws = vowpalwabbit.Workspace("--cb_explore_adf --squarecb --quiet --random_seed 0")
    for t in range(300):
        a = t % 4
        lines = ["shared |c x"] + [f"|a id{j}" for j in range(4)]
        lines[a + 1] = f"0:{-1.0 if a == 2 else 0.0}:0.25 " + lines[a + 1]
        ws.learn(lines)
    order = [3, 2, 0, 1]
    p = ws.predict(["shared |c x"] + [f"|a id{j}" for j in range(4)])
    q = ws.predict(["shared |c x"] + [f"|a id{j}" for j in order])
    assert int(np.argmax(p)) == 2
    np.testing.assert_array_equal(np.asarray(q), np.asarray(p)[order])
    ws.finish()


def _best_is_3_batch(n: int, allowed_ids: list[int], seed: int = 0) -> LoggedBatch:
    space = ActionSpace.from_labels([f"m{i}" for i in range(1, 6)])
    rng = np.random.default_rng(seed)
    allowed = np.zeros((n, len(space)), bool)
    allowed[:, allowed_ids] = True
    action = rng.choice(allowed_ids, size=n)
    reward = (action == 3).astype(float)
    X = rng.normal(size=(n, 3))
    ctx = Context(X, space, ("x0", "x1", "x2"))
    return LoggedBatch(ctx, allowed, action, np.full(n, 1 / len(allowed_ids)), reward)


@pytest.mark.parametrize("algo", ["epsilon", "squarecb"])
def test_probabilities_are_aligned_with_the_allowed_actions(algo):
    batch = _best_is_3_batch(600, [0, 3, 5])
    with VWPolicy(algo=algo, learning_rate=1.0, random_state=0) as policy:
        policy.fit(batch)
        p = policy.predict_proba(batch.context.take(np.arange(50)), batch.allowed[:50])
        assert p.shape == (50, 6)
        assert (p[:, [1, 2, 4]] == 0).all()
        assert (p[:, 3] > 0.9).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        # Other allowed sets: the mass follows action 3, wherever it sits.
        for ids in ([3, 4], [0, 1, 2, 3], [0, 3]):
            allowed = np.zeros((50, 6), bool)
            allowed[:, ids] = True
            q = policy.predict_proba(batch.context.take(np.arange(50)), allowed)
            assert (q[:, 3] > 0.9).all() and (q[~allowed] == 0).all()


def test_no_customers_and_only_no_contact():
    context, allowed = _eval_set()
    with VWPolicy(random_state=0) as policy:
        assert policy.predict_proba(context.take(np.arange(0)), allowed[:0]).shape == (0, 8)
        p = policy.predict_proba(context.take(np.array([0])), allowed[:1])
        np.testing.assert_array_equal(p, np.eye(1, 8))


@pytest.mark.parametrize("algo", ALGOS)
def test_cached_examples_give_the_text_path_results(algo):
    """Same model learned through reused parsed examples and through VW's text
    parser; probabilities equal exactly, through either prediction path."""
    cached, text = VWPolicy(algo=algo, random_state=1), VWPolicy(algo=algo, random_state=1)
    for seed in (1, 2, 3):
        batch = _quantised(PROBLEM.logged_batch(200, seed=seed))
        cached.partial_fit(batch)
        text._partial_fit_text(batch)
    context, allowed = _eval_set()
    context = replace(context, X=np.round(context.X * 4) / 4)
    p = cached.predict_proba(context, allowed)
    np.testing.assert_array_equal(p, text._predict_proba_text(context, allowed))
    np.testing.assert_array_equal(p, cached._predict_proba_text(context, allowed))
    np.testing.assert_array_equal(p, text.predict_proba(context, allowed))
    assert cached.version == text.version == "600"
    cached.close()
    text.close()


def test_cached_path_matches_text_path_on_arbitrary_floats():
    policy = VWPolicy(random_state=0).fit(PROBLEM.logged_batch(500, seed=1))
    context, allowed = _eval_set()
    np.testing.assert_allclose(
        policy.predict_proba(context, allowed),
        policy._predict_proba_text(context, allowed),
        rtol=0,
        atol=1e-5,  # VW's text float parser is off by an ulp or so
    )
    policy.close()


def test_feature_names_are_sanitised_for_the_text_format():
    space = ActionSpace.from_labels(["a b", "c:d"])
    X = np.array([[1.0, 0.5, 0.0, 2.0]])
    ctx = Context(X, space, ("has space", "pipe|x", "colon:y", "has_space"))
    policy = VWPolicy(random_state=0)
    lines = policy.to_text(ctx, np.ones((1, 3), bool), 0, label=(2, -1.0, 0.5))
    assert lines == [
        "shared |c has_space:1.0 pipe_x:0.5 has_space#3:2.0",
        "|a action=no_contact:1.0",
        "|a action=a_b:1.0",
        "0:-1.0:0.5 |a action=c_d:1.0",
    ]
    np.testing.assert_array_equal(
        policy.predict_proba(ctx, np.ones((1, 3), bool)),
        policy._predict_proba_text(ctx, np.ones((1, 3), bool)),
    )
    policy.close()


def test_new_equal_action_space_reuses_parsed_examples():
    policy = VWPolicy(random_state=0)
    context, allowed = _eval_set()
    p = policy.predict_proba(context, allowed)
    first = policy._vw_.last_space
    copy = replace(
        context, actions=replace(context.actions, features=context.actions.features.copy())
    )
    np.testing.assert_array_equal(policy.predict_proba(copy, allowed), p)
    assert policy._vw_.last_space is first
    other = replace(
        context, actions=replace(context.actions, features=context.actions.features * 2)
    )
    policy.predict_proba(other, allowed)
    assert policy._vw_.last_space is not first
    policy.close()


# -- learning ----------------------------------------------------------------------------
def test_partial_fit_counts_examples_and_checks_the_batch():
    policy = VWPolicy(random_state=0)
    policy.partial_fit(PROBLEM.logged_batch(30, seed=1)).partial_fit(PROBLEM.logged_batch(20))
    assert policy.n_examples_ == 50 and policy.version == "50"
    bad = PROBLEM.logged_batch(10, seed=3)
    allowed = bad.allowed.copy()
    allowed[4, bad.action[4]] = False
    allowed[4, 0] = True
    with pytest.raises(PolicyError, match=r"row 4: the chosen action `.*` was not allowed"):
        policy.partial_fit(replace(bad, allowed=allowed))
    X = bad.context.X.copy()
    X[2, 1] = np.nan
    with pytest.raises(PolicyError, match=r"`context.X`: expected finite values"):
        policy.partial_fit(replace(bad, context=replace(bad.context, X=X)))
    with pytest.raises(PolicyError, match=r"`propensity`"):
        policy.partial_fit(replace(bad, propensity=np.zeros(10)))
    assert policy.n_examples_ == 50
    policy.close()


@pytest.mark.parametrize("algo", ["squarecb", "bag"])
def test_learns_a_contextual_problem(algo):
    """Best action depends on the customer: >= 90% of the oracle in 40 rounds of 100."""
    result = check_learns(VWPolicy(algo=algo, learning_rate=2.0, random_state=0))
    assert result.ratio >= 0.9


def test_learns_with_vw_default_hyperparameters_given_more_rounds():
    # VW's default learning rate (0.5) is slower: ~0.78 of the oracle after 40
    # rounds of 100 on this problem, ~0.95 after 160.
    result = check_learns(VWPolicy(random_state=0), rounds=160)
    assert result.ratio >= 0.9


# -- learning from the chosen action and placeholders --------------------------------------
def _saved_model(ws: vowpalwabbit.Workspace, path) -> bytes:
    """VW's model file: weights with their adaptive and normalised state, and every
    reduction's counters (cb_adf's event_sum/action_sum, SquareCB's, bag's generator)."""
    ws.save(str(path))
    return path.read_bytes()


def _varied_rows(n: int, n_actions: int, seed: int) -> list[tuple[list[float], list[int], int]]:
    """(context, allowed actions, chosen action): allowed sets of every size, the chosen
    action anywhere in them, first and last included."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        size = int(rng.integers(1, n_actions + 1))
        allowed = sorted(rng.choice(n_actions, size=size, replace=False).tolist())
        x = (np.round(rng.normal(size=3) * 4) / 4).tolist()
        rows.append((x, allowed, int(rng.choice(allowed))))
    return rows


@pytest.mark.parametrize("algo", ALGOS)
def test_vw_learns_from_the_chosen_action_and_the_number_of_actions(algo, tmp_path):
    """What the placeholder path relies on, checked on VW itself. With ``cb_type mtr``,
    giving featureless placeholders for the unchosen actions (the chosen one at its own
    position) leaves the model unchanged, for every algorithm but cover, whose cover
    policies learn from all the actions. Dropping the unchosen actions changes the
    model: VW weights each update by event_sum / action_sum, the running mean number
    of actions per decision (and SquareCB treats the last action differently)."""
    flags = [*VWPolicy(algo=algo).vw_args(), "--random_seed", "0"]
    rows = _varied_rows(300, 6, seed=0)

    def train(mode: str) -> bytes:
        ws = vowpalwabbit.Workspace(arg_list=flags)
        label_type = ws.get_label_type()
        for t, (x, allowed, a) in enumerate(rows):
            lines = ["shared |c " + " ".join(f"x{k}:{v}" for k, v in enumerate(x))]
            for j in allowed:
                if j == a:
                    cost, prob = -float((a == 1) == (x[0] > 0)), (t % 7 + 1) / 8
                    lines.append(f"0:{cost}:{prob} |a id{j} t{j % 3}")
                elif mode == "all actions":
                    lines.append(f"|a id{j} t{j % 3}")
                elif mode == "placeholders":
                    lines.append("|a")
            ws.learn_multi([vowpalwabbit.Example(ws, line, label_type) for line in lines])
        model = _saved_model(ws, tmp_path / f"{mode}.vw")
        ws.finish()
        return model

    full = train("all actions")
    assert (train("placeholders") == full) is (algo != "cover")
    assert train("chosen action only") != full


def test_squarecb_learns_from_probability_1_except_on_the_last_action():
    """VW's SquareCB learns without importance weights by writing probability 1 into
    the label it learns from, but skips the last example of the multi-line example:
    the policy keys its reusable labelled examples on that position."""
    ws = vowpalwabbit.Workspace("--cb_explore_adf --squarecb --quiet --random_seed 0")
    label_type = ws.get_label_type()
    shared = vowpalwabbit.Example(ws, "shared |c x:0.5", label_type)
    actions = [vowpalwabbit.Example(ws, f"|a id{j}", label_type) for j in range(4)]
    after = []
    for position in range(4):
        labelled = vowpalwabbit.Example(ws, f"0:-1.0:0.25 |a id{position}", label_type)
        multi = [shared, *actions]
        multi[position + 1] = labelled
        ws.learn_multi(multi)
        after.append(labelled.get_cbandits_probability(0))
    assert after == [1.0, 1.0, 1.0, 0.25]
    ws.finish()


def _varied_batch(n: int, seed: int, *, labels: str = "many") -> LoggedBatch:
    """Logged decisions over the synthetic problem's actions with every allowed-set size,
    rewards in {0, 1} and propensities that are not 1/|allowed| (``labels="many"``:
    multiples of 1/64; ``"few"``: 1/2 or 1/4, so that labels repeat)."""
    batch = _quantised(PROBLEM.logged_batch(n, seed=seed))
    rows = _varied_rows(n, batch.allowed.shape[1], seed=seed)
    allowed = np.zeros_like(batch.allowed)
    for i, (_, ids, _) in enumerate(rows):
        allowed[i, ids] = True
    action = np.array([a for _, _, a in rows])
    rng = np.random.default_rng(seed)
    if labels == "few":
        propensity = rng.choice([0.5, 0.25], size=n)
    else:
        propensity = rng.integers(1, 65, size=n) / 64
    reward = (rng.random(n) < 0.3).astype(float)
    return LoggedBatch(batch.context, allowed, action, propensity, reward)


PLACEHOLDER_CASES = [  # (hyperparameters, whether placeholders are used)
    *(({"algo": algo}, algo != "cover") for algo in ALGOS),
    ({"algo": "squarecb", "gamma_scale": 50.0, "epsilon": 0.02, "interactions": "ca cca"}, True),
    ({"algo": "bag", "bag": 3, "epsilon": 0.1, "learning_rate": 2.0}, True),
    ({"algo": "softmax", "interactions": "", "extra_flags": "-b 20 --power_t 0"}, True),
    ({"algo": "epsilon", "extra_flags": "--cb_type dr"}, False),  # learns from every action
    ({"algo": "epsilon", "extra_flags": "--baseline"}, False),  # a further reduction
]


@pytest.mark.parametrize(("params", "exact"), PLACEHOLDER_CASES, ids=str)
def test_placeholders_learn_the_model_of_all_actions(params, exact, tmp_path):
    """partial_fit (placeholders where exact) and the path that gives VW every allowed
    action learn the same model file, byte for byte, and the same probabilities."""
    fast, full = VWPolicy(**params, random_state=3), VWPolicy(**params, random_state=3)
    for seed in (1, 2, 3):
        batch = _varied_batch(300, seed)
        fast.partial_fit(batch)
        full._learn(batch, placeholders=False)
    assert fast._vw_.placeholders_exact is exact
    assert not full._vw_.templates  # never used placeholders
    assert _saved_model(fast.workspace_, tmp_path / "fast.vw") == _saved_model(
        full.workspace_, tmp_path / "full.vw"
    )
    context, allowed = _eval_set()
    np.testing.assert_array_equal(
        fast.predict_proba(context, allowed), full.predict_proba(context, allowed)
    )
    fast.close()
    full.close()


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("labels", ["few", "many"])
def test_reused_labelled_examples_learn_as_vw_text_path(algo, labels):
    """Labelled examples reused across rows, and SquareCB's labels written with
    probability 1, teach VW what its text parser's fresh examples do."""
    cached, text = VWPolicy(algo=algo, random_state=2), VWPolicy(algo=algo, random_state=2)
    for seed in (4, 5):
        batch = _varied_batch(250, seed, labels=labels)
        cached.partial_fit(batch)
        text._partial_fit_text(batch)
    acts = cached._vw_.last_space
    assert acts is not None and 0 < len(acts.labelled) <= 256
    assert cached._vw_.unit_probability is (True if algo == "squarecb" else False)
    _same_predictions(cached, text)


def test_other_cb_types_learn_from_all_actions():
    """``--cb_type ips`` learns from every action's example: no placeholders."""
    cached = VWPolicy(algo="epsilon", extra_flags="--cb_type ips", random_state=0)
    text = VWPolicy(algo="epsilon", extra_flags="--cb_type ips", random_state=0)
    batch = _varied_batch(300, 6)
    cached.partial_fit(batch)
    text._partial_fit_text(batch)
    assert not cached._vw_.placeholders_exact
    _same_predictions(cached, text)


# -- determinism, persistence, lifecycle ---------------------------------------------------
@pytest.mark.parametrize("algo", ALGOS)
def test_same_seed_same_decisions(algo):
    context, allowed = _eval_set()
    runs = []
    for _ in range(2):
        with VWPolicy(algo=algo, random_state=11) as policy:
            policy.fit(PROBLEM.logged_batch(300, seed=5))
            runs.append(policy.predict_proba(context, allowed))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_bag_depends_on_the_seed():
    context, allowed = _eval_set()
    runs = []
    for seed in (1, 2):
        with VWPolicy(algo="bag", random_state=seed) as policy:
            runs.append(
                policy.fit(PROBLEM.logged_batch(300, seed=5)).predict_proba(context, allowed)
            )
    assert not np.array_equal(runs[0], runs[1])


@pytest.mark.parametrize("algo", ALGOS)
def test_save_load_gives_identical_predictions(algo, tmp_path):
    context, allowed = _eval_set()
    policy = VWPolicy(algo=algo, random_state=4).fit(PROBLEM.logged_batch(400, seed=1))
    before = policy.predict_proba(context, allowed)
    where = policy.save(tmp_path / "p")
    assert {f.name for f in where.iterdir()} == {"policy.json", "model.vw", "vw_state.json"}
    loaded = load_policy(where)
    assert isinstance(loaded, VWPolicy) and loaded.get_params() == policy.get_params()
    assert loaded.version == policy.version == "400"
    np.testing.assert_array_equal(loaded.predict_proba(context, allowed), before)
    np.testing.assert_array_equal(policy.predict_proba(context, allowed), before)
    # ... and they go on learning identically (saving reopens the live workspace
    # from the file, as VW's model file drops some of bag's and cover's state).
    batch = PROBLEM.logged_batch(200, seed=2)
    np.testing.assert_array_equal(
        loaded.partial_fit(batch).predict_proba(context, allowed),
        policy.partial_fit(batch).predict_proba(context, allowed),
    )
    assert isinstance(make_policy(str(where)), VWPolicy)
    policy.close()
    loaded.close()


def test_load_refuses_a_directory_without_the_model(tmp_path):
    where = VWPolicy(random_state=0).save(tmp_path / "p")
    (where / "model.vw").unlink()
    with pytest.raises(PolicyError, match=r"model file `model.vw` is missing"):
        load_policy(where)


def test_context_manager_and_reset_finish_the_workspace():
    context, allowed = _eval_set()
    with VWPolicy(random_state=0) as policy:
        policy.fit(PROBLEM.logged_batch(100))
        ws = policy.workspace_
        assert not ws.finished
    assert ws.finished
    assert not hasattr(policy, "workspace_") and policy.version == "0"
    policy.partial_fit(PROBLEM.logged_batch(50))  # starts over with a new workspace
    ws2 = policy.workspace_
    policy.reset()
    assert ws2.finished and not hasattr(policy, "n_examples_")
    assert policy.algo == "squarecb" and policy.softmax_lambda is None  # params kept


def test_concurrent_predictions_and_learning_are_serialised():
    policy = VWPolicy(random_state=0).fit(PROBLEM.logged_batch(200))
    context, allowed = _eval_set()
    errors: list[BaseException] = []

    def predict() -> None:
        try:
            for _ in range(100):
                p = policy.predict_proba(context.take(np.array([5])), allowed[5:6])
                assert abs(p.sum() - 1) < 1e-9
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=predict) for _ in range(4)]
    for t in threads:
        t.start()
    for seed in range(5):
        policy.partial_fit(PROBLEM.logged_batch(50, seed=seed))
    for t in threads:
        t.join()
    assert not errors
    assert policy.n_examples_ == 450
    policy.close()


# -- the shared check suite ---------------------------------------------------------------
SUITE = [
    (algo, name, check)
    for algo in ALGOS
    for name, check in policy_checks(lambda algo=algo: VWPolicy(algo=algo, random_state=0))
    if name != "check_learns"  # covered above with a tuned learning rate
]


@pytest.mark.parametrize(("algo", "name", "check"), SUITE, ids=[f"{a}-{n}" for a, n, _ in SUITE])
def test_policy_check_suite(algo, name, check):
    check()
