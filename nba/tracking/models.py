"""Policies as MLflow models (pyfunc), the registry and the ``champion`` alias.

A logged policy is a pyfunc model holding the nba policy (its saved
directory), the catalog and the guardrails. ``mlflow.pyfunc.load_model(uri)
.predict(df)`` takes **customer rows of signals** — one row per customer,
one column per signal of :func:`nba.features.signals.signal_definitions`
(e.g. ``email_sends_7d``, ``stage``, ``local_hour``; consent is the
``<channel>_consent`` columns), the catalog's attributes (e.g. ``has_app``),
optionally ``customer_id`` and ``days_since.<message_id>`` (days since the
message was last sent; missing means never) — applies the guardrails, asks
the policy, samples, and returns one row per customer with ``customer_id``,
``action`` (action id, ``no_contact`` for none), ``message_id``, ``channel``
and ``propensity``. The optional inference param ``seed`` (int, -1 = fresh
randomness) makes the sampling reproducible. :func:`signals_frame` builds such rows from
:class:`~nba.features.signals.Signals`.

:func:`load_policy` returns the wrapped nba :class:`~nba.policies.base.Policy`
(what the HTTP service serves from ``models:/nba@champion``).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nba.catalog import Catalog, load_catalog
from nba.exceptions import ConfigError
from nba.features.codec import SignalColumns
from nba.features.signals import Signals, signal_definitions
from nba.policies import registry
from nba.policies.base import Policy
from nba.tracking.runs import TrackingError

__all__ = [
    "REGISTERED_MODEL",
    "CHAMPION",
    "PolicyModel",
    "signals_frame",
    "signals_from_frame",
    "log_policy_model",
    "register_policy",
    "load_policy",
    "champion_registered",
]

#: Registered model name and the serving alias (``models:/nba@champion``, docs/contracts.md).
REGISTERED_MODEL = "nba"
CHAMPION = "champion"
#: The model's input columns: signals and attributes by name, ``days_since.<message_id>``.
_COLUMNS = SignalColumns(values="", attributes="", days_since="days_since.")

try:  # the base class only matters when MLflow is installed (it is a dependency)
    from mlflow.pyfunc import PythonModel as _PythonModel
except ImportError:  # pragma: no cover
    _PythonModel = object  # type: ignore[assignment,misc]


def signals_frame(signals: Signals) -> pd.DataFrame:
    """The pyfunc model's input rows for some customers' signals.

    Examples
    --------
    >>> from nba.catalog import Catalog
    >>> from nba.features.state import CustomerStates
    >>> cat = Catalog.from_dict({"channels": [{"id": "email", "content_types": ["plain"]}],
    ...                          "messages": [{"id": "hi", "stages": ["awareness"]}]})
    >>> df = signals_frame(CustomerStates(cat, ["a"]).signals(datetime(2026, 1, 1, tzinfo=UTC)))
    >>> df["customer_id"].tolist(), "email_consent" in df
    (['a'], True)
    """
    cols: dict[str, Any] = {"customer_id": signals.customer_ids.astype(str)}
    return pd.DataFrame(cols | _COLUMNS.encode(signals))


def signals_from_frame(df: pd.DataFrame, catalog: Catalog, now: datetime | None = None) -> Signals:
    """Rebuild :class:`Signals` from input rows (see the module docstring).

    Raises
    ------
    ConfigError
        Naming the missing columns.
    """
    names = [d.name for d in signal_definitions(catalog.channel_ids)]
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise ConfigError(
            f"model input: missing signal columns {', '.join(missing[:8])}"
            f"{' ...' if len(missing) > 8 else ''}; expected one column per signal "
            "(see nba.tracking.models.signals_frame)"
        )
    n = len(df)
    ids = (
        df["customer_id"].astype(str).to_numpy(dtype=object)
        if "customer_id" in df.columns
        else np.array([f"row{i}" for i in range(n)], dtype=object)
    )
    return _COLUMNS.decode(
        df,
        ids,
        now or datetime.now(UTC),
        catalog.channel_ids,
        catalog.message_ids,
        names=names,
        attributes={a: spec.type for a, spec in catalog.attributes.items()},
    )


class PolicyModel(_PythonModel):  # type: ignore[misc,valid-type]
    """The pyfunc wrapper of an nba policy with its catalog and guardrails.

    Artifacts: ``policy`` (a directory written by ``Policy.save``),
    ``catalog`` and ``guardrails`` (YAML files).
    """

    def load_context(self, context: Any) -> None:
        """Load the policy, catalog and guardrails from the model's artifacts."""
        from nba.guardrails import Guardrails, load_guardrails

        self.catalog = load_catalog(context.artifacts["catalog"])
        self.guardrails = Guardrails(
            load_guardrails(context.artifacts["guardrails"], self.catalog), self.catalog
        )
        self.policy = registry.load_policy(context.artifacts["policy"])

    def predict(
        self,
        context: Any,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Decide for each input row: action id, message, channel, propensity."""
        from nba.pipeline import Decider

        df = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        seed = (params or {}).get("seed")
        seed = None if seed is None or int(seed) < 0 else int(seed)
        signals = signals_from_frame(df, self.catalog)
        decider = Decider(self.catalog, self.guardrails, self.policy, random_state=seed)
        batch = decider.decide_signals(signals)
        acts = [self.catalog.actions.actions[int(a)] for a in batch.action]
        return pd.DataFrame(
            {
                "customer_id": signals.customer_ids.astype(str),
                "action": [a.id for a in acts],
                "message_id": [a.message_id or "" for a in acts],
                "channel": [a.channel or "" for a in acts],
                "propensity": batch.propensity.astype(float),
            }
        )


def log_policy_model(
    policy: Policy,
    *,
    run_id: str,
    catalog_path: str | Path,
    guardrails_path: str | Path,
    input_example: pd.DataFrame | None = None,
    name: str = "policy",
) -> str:
    """Log ``policy`` as a pyfunc model in run ``run_id``; returns the model URI.

    Raises
    ------
    TrackingError
        If MLflow refuses.
    """
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        pdir = policy.save(Path(tmp) / "policy")
        artifacts = {
            "policy": str(pdir),
            "catalog": str(catalog_path),
            "guardrails": str(guardrails_path),
        }
        signature = None
        if input_example is not None:
            from mlflow.models import infer_signature

            signature = infer_signature(input_example, None, params={"seed": -1})
        try:
            with mlflow.start_run(run_id=run_id):
                info = mlflow.pyfunc.log_model(
                    name=name,
                    python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
                    artifacts=artifacts,
                    input_example=input_example,
                    signature=signature,
                    pip_requirements=["nba"],
                )
        except Exception as exc:  # noqa: BLE001 - one clear message for the user
            raise TrackingError(f"could not log the policy `{policy.spec}`: {exc}") from None
    return str(info.model_uri)


def register_policy(
    model_uri: str,
    *,
    champion: bool,
    name: str = REGISTERED_MODEL,
    description: str = "",
) -> str:
    """Register a logged model; give it the ``champion`` alias when ``champion``.

    Returns
    -------
    The registered version (as text).
    """
    import mlflow
    from mlflow import MlflowClient

    try:
        mv = mlflow.register_model(model_uri, name)
        client = MlflowClient()
        if description:
            client.update_model_version(name, mv.version, description=description)
        if champion:
            client.set_registered_model_alias(name, CHAMPION, mv.version)
    except Exception as exc:  # noqa: BLE001
        raise TrackingError(f"could not register `{model_uri}` as `{name}`: {exc}") from None
    return str(mv.version)


def load_policy(model_uri: str) -> Policy:
    """The nba policy inside a logged model (e.g. ``models:/nba@champion``).

    Raises
    ------
    TrackingError
        If the model cannot be loaded or is not an nba policy model.
    """
    import mlflow

    try:
        model = mlflow.pyfunc.load_model(model_uri)
        wrapped = model.unwrap_python_model()
    except Exception as exc:  # noqa: BLE001
        raise TrackingError(f"could not load the model `{model_uri}`: {exc}") from None
    if not isinstance(wrapped, PolicyModel):
        raise TrackingError(f"`{model_uri}` is not an nba policy model")
    return wrapped.policy


def champion_registered(name: str = REGISTERED_MODEL, registry_uri: str | None = None) -> bool:
    """Whether the model registry (default: MLflow's current one, where
    ``models:/nba@champion`` is looked up) has a version of ``name`` with the
    ``champion`` alias.

    Tells "no champion" (serve the rule baseline, nothing is wrong) from "a
    champion that cannot be loaded" (serve the rule baseline, degraded).

    Examples
    --------
    >>> import tempfile
    >>> champion_registered(registry_uri=f"sqlite:///{tempfile.mkdtemp()}/mlflow.db")
    False
    """
    from mlflow import MlflowClient

    try:
        MlflowClient(registry_uri=registry_uri).get_model_version_by_alias(name, CHAMPION)
    except Exception:  # noqa: BLE001 - no such model or alias (the store says so its way)
        return False
    return True
