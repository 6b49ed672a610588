"""What the back-office API function reads from its environment (names shared with infra/backoffice.py)."""

from __future__ import annotations

from typing import Final, NamedTuple

from lambdas.shared import constants
from lambdas.shared.settings import text
from lambdas.timeline.store import ENV_TIMELINE_TABLE

# The failure_stats subscriber's table (failed orders per day x named error), read for "failures by reason".
ENV_FAILURE_STATS_TABLE: Final = "FAILURE_STATS_TABLE_NAME"
# The page's origin (https://<distribution>): the only origin the API answers cross-origin requests from.
ENV_ALLOWED_ORIGIN: Final = "BACKOFFICE_ALLOWED_ORIGIN"
# CORS for that origin: the headers the page sends (Authorization: its ID token; Content-Type with a decision)
# and how long a browser keeps a preflight's answer. API Gateway answers the preflights (infra/backoffice.py);
# the function's answers carry the same headers.
CORS_ALLOW_HEADERS: Final = ("Authorization", "Content-Type")
CORS_MAX_AGE_SECONDS: Final = 600
# The user pool groups (created by infra/backoffice.py, read from the token's cognito:groups claim).
REVIEWERS_GROUP: Final = "reviewers"
OPERATORS_GROUP: Final = "operators"


class BackOfficeSettings(NamedTuple):
    payments_table: str
    state_machine_arn: str
    failure_stats_table: str
    allowed_origin: str
    timeline_table: str

    @classmethod
    def from_env(cls) -> BackOfficeSettings:
        return cls(
            payments_table=text(constants.ENV_PAYMENTS_TABLE),
            state_machine_arn=text(constants.ENV_STATE_MACHINE_ARN),
            failure_stats_table=text(ENV_FAILURE_STATS_TABLE),
            allowed_origin=text(ENV_ALLOWED_ORIGIN),
            timeline_table=text(ENV_TIMELINE_TABLE),
        )
