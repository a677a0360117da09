"""The store on a real SQLite file: transactions, history → states, budgets,
keys, snapshots, and exact caps under concurrent threads."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select

from nba.catalog import Catalog
from nba.exceptions import ConfigError
from nba.service import DecisionService
from nba.settings import Settings
from nba.store import Store, budgets, config, customers, keys, snapshots
from nba.store.db import WriterBusy
from nba.store.schema import events

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'nba.db'}")


def test_sqlite_is_wal_and_rejects_unknown_urls(store: Store) -> None:
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with pytest.raises(ConfigError, match="NBA_DATABASE_URL"):
        Store("mysql://x")


def test_an_earlier_schema_gets_the_partial_indexes(tmp_path: Path) -> None:
    """A database made by an earlier version (whole-log indexes on closed/learned
    and unknown_decision) gets the partial indexes and loses the old ones; the
    reward join's, the learner's and the re-join's queries read through them."""
    import sqlite3

    from nba.store.schema import DECISIONS_OPEN, DECISIONS_UNLEARNED, EVENTS_UNKNOWN, decisions

    path = tmp_path / "nba.db"
    Store(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as db:
        for name in ("ix_decisions_due", "ix_decisions_unlearned", "ix_events_pending"):
            db.execute(f"DROP INDEX {name}")
        db.execute("CREATE INDEX ix_decisions_open ON decisions (closed, window_end)")
        db.execute("CREATE INDEX ix_decisions_learn ON decisions (closed, learned)")
        db.execute("CREATE INDEX ix_events_unknown ON events (unknown_decision)")
    store = Store(f"sqlite:///{path}")
    queries = {
        "ix_decisions_due": select(decisions.c.decision_id)
        .where(DECISIONS_OPEN, decisions.c.window_end <= 1.0)
        .order_by(decisions.c.window_end),
        "ix_decisions_unlearned": select(decisions.c.decision_id)
        .where(DECISIONS_UNLEARNED)
        .order_by(decisions.c.created_at),
        "ix_events_pending": select(events.c.event_id).where(EVENTS_UNKNOWN),
    }
    with store.read() as conn:
        names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master")}
        assert not names & {"ix_decisions_open", "ix_decisions_learn", "ix_events_unknown"}
        for index, query in queries.items():
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert f"USING INDEX {index}" in plan, plan
    store.dispose()


def test_write_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as conn:
        customers.ensure_customers(conn, ["a"], 0.0)
        raise RuntimeError("boom")
    with store.read() as conn:
        assert customers.load_customers(conn, ["a"]) == {}


def test_write_now_rolls_back_a_failed_transaction_and_goes_on(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'nba.db'}")
    with pytest.raises(RuntimeError), store.write_now() as conn:
        customers.ensure_customers(conn, ["lost"], 0.0)
        raise RuntimeError("boom")
    with store.write_now() as conn:  # the kept connection is usable again
        customers.ensure_customers(conn, ["kept"], 0.0)
    with store.read() as conn:
        assert set(customers.load_customers(conn, ["lost", "kept"])) == {"kept"}
    store.dispose()
    with store.write_now() as conn:  # and after dispose(), a new one is opened
        customers.ensure_customers(conn, ["again"], 0.0)
    with store.read() as conn:
        assert set(customers.load_customers(conn, ["again"])) == {"again"}


def test_background_checkpoints_keep_the_log_bounded(tmp_path: Path) -> None:
    path = tmp_path / "nba.db"
    store = Store(f"sqlite:///{path}", background_checkpoints=True)
    store.dispose()  # restarted below with a small threshold
    store.start_checkpoints(interval=0.01, restart_bytes=256 << 10)
    with store.write() as conn:  # commits do not checkpoint: that is the thread's job
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    blob, wal, ticks = "x" * 3000, tmp_path / "nba.db-wal", iter(range(10**6))

    def resets() -> int:  # the log header's checkpoint sequence: +1 each time it starts over
        return int.from_bytes(wal.read_bytes()[12:16], "big")

    for burst in range(15):  # ~6 MB of log, written in many commits
        before = resets()
        for i in range(100 * burst, 100 * burst + 100):
            with store.write() as conn:
                customers.ensure_customers(conn, [f"{blob}{i}"], 0.0)
        # given the time (however slow the machine), the checkpointer copies the log into
        # the database and the next write starts it over: the log stays bounded
        deadline = time.monotonic() + 60
        while resets() == before:
            assert time.monotonic() < deadline, "the checkpointer did not start the log over"
            time.sleep(0.05)
            with store.write() as conn:
                customers.ensure_customers(conn, [f"tick{next(ticks)}"], 0.0)
    store.dispose()
    assert not store.checkpointing
    other = Store(f"sqlite:///{path}")  # everything is in the database file
    with other.read() as conn:
        assert len(customers.load_customers(conn, [f"{blob}{i}" for i in (0, 1499)])) == 2


def test_write_now_starts_at_once_or_not_at_all(tmp_path: Path, writer_elsewhere: Any) -> None:
    store = Store(f"sqlite:///{tmp_path / 'nba.db'}")
    with store.write_now() as conn:
        customers.ensure_customers(conn, ["a"], 0.0)
    with store.read() as conn:
        assert set(customers.load_customers(conn, ["a"])) == {"a"}  # committed
    t = time.perf_counter()
    with writer_elsewhere(store), pytest.raises(WriterBusy), store.write_now():
        pass  # another thread of this process writes
    # another process (another store on the file) writes: no busy wait either
    other = Store(f"sqlite:///{tmp_path / 'nba.db'}")
    with other.write() as conn:
        with pytest.raises(WriterBusy), store.write_now():
            pass
        customers.ensure_customers(conn, ["b"], 0.0)
    assert time.perf_counter() - t < 5.0  # not the 30 s busy timeout
    with store.write_now() as conn:  # free again; the other's row is there
        assert set(customers.load_customers(conn, ["a", "b"])) == {"a", "b"}
    with Store("sqlite://").write_now() as conn:  # in memory too
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    other.dispose()
    store.dispose()


def test_write_now_starts_as_soon_as_a_momentary_lock_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock held for a moment (a background checkpoint finishing) delays write_now by
    one 50 µs poll, not by SQLite's busy handler, which sleeps 1 ms at least."""
    import sqlite3

    from nba.store import db

    store = Store(f"sqlite:///{tmp_path / 'nba.db'}")
    other = sqlite3.connect(tmp_path / "nba.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the write lock, held by another connection
    polls: list[float] = []

    def sleep(seconds: float) -> None:  # the clock is the boundary: the lock goes at once
        polls.append(seconds)
        if other.in_transaction:
            other.execute("COMMIT")

    monkeypatch.setattr(db.time, "sleep", sleep)
    with store.write_now() as conn:
        customers.ensure_customers(conn, ["a"], 0.0)
    assert polls == [db.WRITE_NOW_POLL]
    other.close()
    store.dispose()


def test_history_builds_the_same_states_as_the_events(store: Store, catalog: Catalog) -> None:
    rows = [
        ("e1", "c1", "opened", NOW.timestamp() - 3600, "email", None, {}),
        ("e2", "c1", "purchase", NOW.timestamp() - 7200, None, None, {}),
        ("e3", "c2", "consent_changed", NOW.timestamp() - 60, "email", None, {"consent": True}),
        ("e4", "c2", "unsubscribed", NOW.timestamp() - 30, "sms", None, {}),
    ]
    with store.write() as conn:
        customers.ensure_customers(conn, ["c1", "c2"], 0.0)
        conn.execute(
            insert(events),
            [
                {
                    "event_id": e,
                    "customer_id": c,
                    "type": t,
                    "ts": ts,
                    "channel": ch,
                    "message_id": m,
                    "value": 20.0 if t == "purchase" else 0.0,
                    "properties": json.dumps(p),
                    "received_at": 0.0,
                    "late": False,
                    "unknown_decision": False,
                    "decision_id": None,
                    "attributed_to": None,
                }
                for e, c, t, ts, ch, m, p in rows
            ],
        )
        hist = customers.load_history(conn, catalog, ["c1", "c2", "cold"])
        states = hist.to_states(
            catalog, ["c1", "c2", "cold"], customers.load_customers(conn, ["c1", "c2", "cold"])
        )
    sig = states.signals(NOW)
    assert sig["email_opens_7d"].tolist() == [1.0, 0.0, 0.0]
    assert sig["purchases_total"].tolist() == [1.0, 0.0, 0.0]
    email = catalog.channel_ids.index("email")
    assert sig.consent[:, email].tolist() == [False, True, False]


def test_history_folds_contacts_and_events_like_the_events_one_by_one(tmp_path: Path) -> None:
    from nba.events import Event, EventType
    from nba.features.state import CustomerStates

    svc = _service(tmp_path)
    catalog = svc.runtime.catalog
    ids = [f"h{i}" for i in range(20)]
    _, batch = svc.decide(ids, NOW)
    i = next(k for k in range(20) if batch.action[k] != 0)
    cid, did = ids[i], batch.decision_ids[i]
    act = catalog.actions.actions[int(batch.action[i])]
    hour = timedelta(hours=1)
    svc.ingest_events(
        [
            # the contact the service recorded, reported again: counted once
            Event(
                cid,
                EventType.SENT,
                NOW + hour,
                act.channel,
                act.message_id,
                decision_id=did,
                event_id="s1",
            ),
            Event(cid, EventType.OPENED, NOW + hour, act.channel, decision_id=did, event_id="o1"),
            Event(cid, EventType.UNSUBSCRIBED, NOW + 2 * hour, act.channel, event_id="u1"),
        ]
    )
    with svc.store.read() as conn:
        rows = customers.load_customers(conn, [cid])
        got = customers.load_history(conn, catalog, [cid]).to_states(catalog, [cid], rows)
    want = CustomerStates(catalog, [cid])
    want.apply_events(
        [
            Event(cid, EventType.SENT, NOW, act.channel, act.message_id),
            Event(cid, EventType.OPENED, NOW + hour, act.channel),
            Event(cid, EventType.UNSUBSCRIBED, NOW + 2 * hour, act.channel),
        ]
    )
    g, w = got.signals(NOW + 3 * hour), want.signals(NOW + 3 * hour)
    assert g.values.keys() == w.values.keys()
    for name, value in w.values.items():
        np.testing.assert_array_equal(g[name], value, err_msg=name)
    np.testing.assert_array_equal(g.consent, w.consent)
    np.testing.assert_array_equal(g.days_since_message, w.days_since_message)
    assert g[f"{act.channel}_sends_1d"].tolist() == [1.0]
    svc.stop()


def test_take_budget_is_exact_under_threads(store: Store) -> None:
    def take() -> bool:
        with store.write() as conn:
            return budgets.take_budget(conn, "sms", 100, 1, 7)

    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda _: take(), range(40)))
    assert sum(got) == 7
    with store.read() as conn:
        assert budgets.budget_used(conn, ["sms", "email"], 100) == {"sms": 7, "email": 0}
    with store.write() as conn:  # more than the budget on a new day: nothing counted
        assert not budgets.take_budget(conn, "sms", 101, 8, 7)
        assert budgets.take_budget(conn, "sms", 101, 7, 7)  # all of it, at once
        assert not budgets.take_budget(conn, "sms", 101, 1, 7)
        assert budgets.budget_used(conn, ["sms"], 101) == {"sms": 7}


def test_keys_are_stored_hashed(store: Store) -> None:
    with store.write() as conn:
        key_id, key = keys.create_key(conn, "app", time.time())
    with store.read() as conn:
        assert keys.role_of_key(conn, key) == (key_id, "app")
        assert keys.role_of_key(conn, key + "x") is None
        raw = conn.exec_driver_sql("SELECT key_hash FROM api_keys").scalar()
    assert raw == keys.hash_key(key) and key not in raw


def test_config_versions_and_audit(store: Store) -> None:
    with store.write() as conn:
        assert config.put_config(conn, "goal", {"a": 1}, "me", 1.0) == 1
        assert config.put_config(conn, "goal", {"a": 2}, "me", 2.0) == 2
        config.add_audit(conn, "me", "update", "goal", {"a": 1}, {"a": 2}, 2.0)
    with store.read() as conn:
        assert config.latest_config(conn, "goal").document == {"a": 2}
        assert config.config_head(conn) == 2
        (entry,) = config.list_audit(conn, "goal")
    assert (entry.who, entry.before, entry.after) == ("me", {"a": 1}, {"a": 2})


def _service(tmp_path: Path, random_state: int = 0, **kw: object) -> DecisionService:
    return DecisionService(
        Settings(database_url=f"sqlite:///{tmp_path / 'svc.db'}", **kw),  # type: ignore[arg-type]
        champion_lookup=False,
        random_state=random_state,
    )


def test_fifty_threads_one_customer_one_contact(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    svc.put_config(
        "guardrails", {"frequency_caps": [{"name": "daily", "max": 1, "window_days": 1}]}, "test"
    )
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda _: svc.decide(["hot"], NOW)[1], range(50)))
    assert sum(int(b.action[0] != 0) for b in results) == 1
    svc.stop()


def test_decide_now_decides_as_decide_or_not_at_all(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _service(tmp_path / "a"), _service(tmp_path / "b")
    for i in range(30):
        ids = [f"c{i % 7}"]
        x, y = a.decide(ids, NOW)[1], b.decide_now(ids[:1], NOW)
        assert y is not None
        assert x.decision_ids == y[1].decision_ids
        assert x.action.tolist() == y[1].action.tolist()
        assert x.propensity.tolist() == y[1].propensity.tolist()
    with b.store.write():  # the write lock is taken: nothing happens, nothing is drawn
        assert b.decide_now(["c0"], NOW) is None
    assert a.decide(["c0"], NOW)[1].decision_ids == b.decide(["c0"], NOW)[1].decision_ids
    a.stop()
    b.stop()


def test_decide_now_and_threads_share_the_cap(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    svc.put_config(
        "guardrails", {"frequency_caps": [{"name": "daily", "max": 1, "window_days": 1}]}, "test"
    )
    with ThreadPoolExecutor(8) as pool:
        threaded = [pool.submit(svc.decide, ["hot"], NOW) for _ in range(25)]
        inline = [svc.decide_now(["hot"], NOW) for _ in range(25)]
        results = [f.result()[1] for f in threaded] + [r[1] for r in inline if r is not None]
    assert sum(int(b.action[0] != 0) for b in results) == 1
    svc.stop()


def test_snapshot_lets_a_restart_continue(tmp_path: Path) -> None:
    svc = _service(tmp_path, model_uri="linucb")
    rt, batch = svc.decide([f"c{i}" for i in range(30)], NOW)
    assert batch.policy_name == "linucb"
    out = svc.learn(datetime(2026, 3, 20, tzinfo=UTC))
    assert out.closed == 30 and out.learned == 30
    assert out.policy.version == "30"
    svc.stop()
    again = _service(tmp_path, model_uri="linucb")
    assert again.policy_info().version == "30"
    # the restored policy decides like the one that was snapshotted
    probs = again.serving.policy.predict_proba(batch.context, batch.guardrails.allowed)
    assert np.allclose(probs.sum(axis=1), 1.0)
    with again.store.read() as conn:
        assert conn.execute(select(events.c.event_id)).first() is None
    again.stop()


def test_event_racing_its_decision_is_joined_later(tmp_path: Path) -> None:
    from nba.events import Event, EventType

    # same seed, same inputs: the same decision id, which we learn from a throwaway store
    probe = DecisionService(
        Settings(database_url=f"sqlite:///{tmp_path / 'probe.db'}"),
        champion_lookup=False,
        random_state=7,
    )
    did = probe.decide(["r1"], NOW)[1].decision_ids[0]
    probe.stop()
    svc = _service(tmp_path, random_state=7)
    click = Event("r1", EventType.CLICKED, NOW, decision_id=did, event_id="early")
    assert svc.ingest_events([click]).unknown_decision == 1
    _, batch = svc.decide(["r1"], NOW)
    assert batch.decision_ids[0] == did
    out = svc.learn(datetime(2026, 3, 20, tzinfo=UTC))
    assert out.rejoined == 1 and out.closed == 1
    detail = svc.get_decision(did)
    assert [e["event_id"] for e in detail.events] == ["early"]
    assert detail.events[0]["unknown_decision"] is False
    cost = {None: 0.0, "web": 0.0, "in_app": 0.0}[detail.action.channel if detail.action else None]
    assert detail.reward == pytest.approx(0.05 - cost)
    svc.stop()


def test_only_recent_snapshots_are_kept(store: Store) -> None:
    from nba.policies.spec import make_policy

    policy = make_policy("random", random_state=0)
    with store.write() as conn:
        ids = [snapshots.save_snapshot(conn, policy, "src", float(i)) for i in range(8)]
        snapshots.save_snapshot(conn, policy, "other", 0.0)
    with store.read() as conn:
        left = (
            conn.exec_driver_sql("SELECT id FROM policy_snapshots WHERE source = 'src' ORDER BY id")
            .scalars()
            .all()
        )
        assert list(left) == ids[-5:]
        assert snapshots.load_snapshot(conn, "src").name == "random"
        assert snapshots.load_snapshot(conn, "nope") is None


def test_decisions_json_is_the_same_text_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nba.service import render

    svc = _service(tmp_path, model_uri="random")
    rt, batch = svc.decide([f"c{i}" for i in range(200)], NOW)
    batched = svc.decisions_json(rt, batch)
    monkeypatch.setattr(render, "_FEW", len(batch))
    assert svc.decisions_json(rt, batch) == batched
    assert any(
        '"distribution":{"no_contact":' in d and "," in d.split("distribution")[1] for d in batched
    )  # rows with several allowed actions were compared
    svc.stop()


def test_a_guarded_policy_keeps_comparing_with_the_rules_as_it_serves(tmp_path: Path) -> None:
    svc = _service(tmp_path, model_uri="linucb:guard=true")
    policy = svc.serving.policy
    assert policy.name == "guarded" and policy.rules == str(svc.settings.rules)
    svc.decide([f"c{i}" for i in range(40)], NOW)
    out = svc.learn(datetime(2026, 3, 20, tzinfo=UTC))
    assert out.learned == 40
    # the decision log's raw signals let the rules decide again for the comparison
    learner = svc.serving.policy
    assert learner.comparison()["decisions"] == pytest.approx(40, rel=1e-3)
    assert learner.challenger.version == "40"
    svc.stop()


def test_a_file_that_is_not_a_database_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    text = "these are notes, not a SQLite database\n" * 20
    path.write_text(text)
    url = f"sqlite:///{path}"
    with pytest.raises(
        ConfigError,
        match=f"^database `{re.escape(url)}`: cannot create tables \\(file is not a database\\)$",
    ):
        Store(url)
    assert path.read_text() == text  # left as it was


def test_an_unreachable_database_is_named_without_its_password() -> None:
    with pytest.raises(ConfigError, match="cannot create tables") as info:
        Store("postgresql://nba:s3cret@127.0.0.1:1/nba")  # nothing listens on port 1
    assert "`postgresql+psycopg://nba:***@127.0.0.1:1/nba`" in str(info.value)
    assert "s3cret" not in str(info.value)
