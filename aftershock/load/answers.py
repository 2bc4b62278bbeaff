"""Every answer the load got, classified once by the promise it serves.

One classification, used by every verdict that counts answers (error
rate, availability in a partition, recovery time, the drill's moves and
capacity levels):

- `served`: the platform answered, and correctly: a 2xx or 3xx, from a
  region that names itself (when the service names its regions), with the
  body the client needed (an order id for a checkout, say);
- `refused`: a 4xx the shopper did not cause: sold out, a conflict,
  checkout switched off, rate limited. For "no downtime" and for capacity
  it is downtime: a region that refuses every checkout is down for
  checkout, whatever the status code;
- `client_error`: a 4xx the client knowingly provoked (a request the
  client declared it expects to be refused with that status). Never the
  platform's fault, never counted against it;
- `no_answer`: nothing the shopper could use came back: a timeout, a
  reset, a 5xx, a 2xx no region of the platform gave (a sorry page from the
  edge, without the serving region's header), or a 2xx the client found
  wrong.

The load's client classifies each request as it sees it (it alone knows
what it sent and expected) and writes the class into the timeline as
`answer`. Records written before that carry no class: theirs is derived
from the status alone.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

SERVED = "served"
REFUSED = "refused"
CLIENT_ERROR = "client_error"
NO_ANSWER = "no_answer"
CLASSES = (SERVED, REFUSED, CLIENT_ERROR, NO_ANSWER)
FAILED = frozenset({REFUSED, NO_ANSWER})
"""The classes that count against availability: the shopper was not served."""


def classify(
    status: int,
    region: str | None = None,
    regions_named: bool = False,
    expected: Collection[int] = (),
    correct: bool = True,
) -> str:
    """The class of one answer, as its client saw it.

    `status` 0 means no answer came back. `region` is the serving region
    the answer named; `regions_named` says the service names it on every
    answer, so an answer without one came from something else (the edge's
    sorry page). `expected` holds the 4xx statuses the client provoked on
    purpose; `correct` is False when the client found a 2xx's body wrong.
    """
    status = int(status or 0)
    if status == 0 or status >= 500:
        return NO_ANSWER
    if 400 <= status < 500:
        return CLIENT_ERROR if status in expected else REFUSED
    if not correct or (regions_named and not region):
        return NO_ANSWER
    return SERVED


def answer(record: dict[str, Any]) -> str:
    """The class of a timeline record: the one its client wrote, else derived from its status."""
    written = record.get("answer")
    if written in CLASSES:
        return str(written)
    return classify(int(record.get("status") or 0), record.get("region"))


def is_failed(record: dict[str, Any]) -> bool:
    """The shopper was not served: refused, or no answer they could use."""
    return answer(record) in FAILED


def is_served(record: dict[str, Any]) -> bool:
    """The platform served the shopper, correctly."""
    return answer(record) == SERVED
