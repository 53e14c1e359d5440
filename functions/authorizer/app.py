"""HTTP API Lambda authorizer (payload 2.0, simple responses): operator API key -> operator and scopes.

The gateway itself answers 401 when the Authorization header is missing and 403 when this denies.
"""

from typing import Any

from kassa.authorizer import authorize
from kassa.observability import lambda_handler as observed


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return authorize(event)
