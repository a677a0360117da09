"""MLflow "models from code" entry point of an nba policy model.

:func:`nba.tracking.models.log_policy_model` logs this file as the model's
code, so loading a model never unpickles arbitrary objects.
"""

import mlflow

from nba.tracking.models import PolicyModel

mlflow.models.set_model(PolicyModel())
