"""DynamoDB calls made up to the wire and no further, so that a function's init, not its first request, pays
for what botocore builds at an operation's first use.

botocore builds lazily, per client and per operation: the operation's model and the shapes it reaches,
the parameter validator's and serializer's walk of them, the endpoint rule's resolution, the handler lists
of a dozen events named after the operation. A first ``TransactWriteItems`` pays for all of it inside the
request that needed it. ``rehearsing`` answers every call made through the client, meanwhile, from a
``before-send`` handler (botocore's own hook for a response that is not sent for), so everything but the
network runs; nothing leaves the process, and a call of an operation not given an answer fails. Of the
network's own first use, the one part that needs no peer is done too: urllib3 checks each host name it
connects to by encoding it with the IDNA codec, whose first use imports it (with ``stringprep`` and
``unicodedata``), about 2 ms of a first connection.
"""

from __future__ import annotations

import encodings.idna  # noqa: F401  (see above: imported at init, not by the first connection)
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

_HANDLER_ID = "kassa-rehearsal"


class _Body:
    """A response body as botocore reads one off the wire."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


class Unrehearsed(Exception):
    """A call was made while rehearsing that no answer was given for: it was not sent either."""


@contextmanager
def rehearsing(client: Any, answers: Mapping[str, Mapping[str, Any]]) -> Iterator[None]:
    """Within the block, every call through ``client`` is built, signed and answered with ``answers[operation]``
    (its JSON body) instead of being sent; an operation without an answer raises ``Unrehearsed``."""
    events = client.meta.events

    def answer(request: Any, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        if operation not in answers:
            raise Unrehearsed(f"{operation} was called while rehearsing, and not sent")
        body = json.dumps(answers[operation]).encode()
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": _HANDLER_ID}
        return AWSResponse(request.url, 200, headers, _Body(body))

    events.register("before-send.dynamodb", answer, unique_id=_HANDLER_ID)
    try:
        yield
    finally:
        events.unregister("before-send.dynamodb", answer, unique_id=_HANDLER_ID)
