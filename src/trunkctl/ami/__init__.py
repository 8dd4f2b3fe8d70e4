"""Asterisk Manager Interface: a fast lossless parser, an asyncio client, call tracking.

Layers (asyncpg's split): ``_parser`` turns bytes into :class:`Message` (no asyncio),
``_protocol`` pairs responses with actions by ActionID, :mod:`.client` is the API.
"""

from ._errors import AmiListTooLongError
from ._parser import AmiProtocolError, Message, Parser, encode_action
from ._protocol import MAX_LIST_BYTES, MAX_LIST_ITEMS, ListResult
from .calls import USER_EVENT, CallResult, ChannelInfo, originate_and_track
from .client import AmiClient, EventListener, EventMatch, Headers, Subscription, connect

__all__ = [
    "MAX_LIST_BYTES",
    "MAX_LIST_ITEMS",
    "USER_EVENT",
    "AmiClient",
    "AmiListTooLongError",
    "AmiProtocolError",
    "CallResult",
    "ChannelInfo",
    "EventListener",
    "EventMatch",
    "Headers",
    "ListResult",
    "Message",
    "Parser",
    "Subscription",
    "connect",
    "encode_action",
    "originate_and_track",
]
