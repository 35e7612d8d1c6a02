"""htcontent: the Python SDK of the HT Content API.

>>> from htcontent import Client
>>> client = Client("http://127.0.0.1:8000")                        # doctest: +SKIP
>>> for indicator in client.indicators.list(setting="traffic_stop"):  # doctest: +SKIP
...     print(indicator.id, indicator.statement)
"""

from ._client import Client, Collection, Mirror, __version__, localize, read_mirror
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    GoneError,
    HTContentError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    UnprocessableEntityError,
)
from ._models import Proposal, SearchHit, SyncResult
from ._records import (
    Channel,
    Conflict,
    Form,
    Hotline,
    Indicator,
    Record,
    ReliefOption,
    Resource,
    Source,
)
from .webhooks import Delivery, Webhook, WebhookVerificationError

__all__ = [
    "APIConnectionError", "APIStatusError", "APITimeoutError", "AuthenticationError",
    "BadRequestError", "Channel", "Client", "Collection", "Conflict", "Form", "GoneError",
    "HTContentError",
    "Hotline", "Indicator", "InternalServerError", "Mirror", "NotFoundError",
    "PermissionDeniedError", "PreconditionFailedError", "Proposal", "RateLimitError", "Record",
    "ReliefOption", "Resource", "SearchHit", "Source", "SyncResult",
    "UnprocessableEntityError", "Delivery", "Webhook", "WebhookVerificationError",
    "__version__", "localize", "read_mirror",
]
