"""NovoFon's HTTP APIs: REST v1 (legacy), Data API 2.0 and Call API 4.0, plus webhooks.

Async clients on httpx with blocking facades; every failure is a typed
:class:`NovofonError` with what/evidence/next step in English and Russian. Requests with
effects (callbacks, calls, password changes) are never retried: a lost answer raises
:class:`NovofonOutcomeUnknown`. ``trunkctl.novofon.emulator`` serves the same APIs
in-process or over uvicorn for tests and the sandbox.
"""

from ._errors import (
    NovofonAccountInactive,
    NovofonApiError,
    NovofonAuthError,
    NovofonBadParams,
    NovofonBlocked,
    NovofonComponentDisabled,
    NovofonConnectionError,
    NovofonError,
    NovofonForbidden,
    NovofonIpNotWhitelisted,
    NovofonOutcomeUnknown,
    NovofonProtocolError,
    NovofonRateLimited,
    NovofonServerError,
    NovofonTimeout,
    NovofonVirtualNumberError,
    NovofonWebhookError,
)
from ._http import RateLimitInfo, RetryPolicy
from ._jsonrpc import CALL_API_URL, DATA_API_URL, CallApiClient, DataApiClient, JsonRpcClient
from ._models import (
    Account,
    ActiveCall,
    ApiLimits,
    Balance,
    CallbackResult,
    CallLeg,
    CallReportRow,
    PbxExtensionStatus,
    PbxInternal,
    RegisteredAddress,
    SimpleCall,
    SipLine,
    SipNumber,
    SipNumbers,
    SipStatus,
    Statistics,
    StatisticsRecord,
    VirtualNumber,
)
from ._phone import e164_digits
from ._rest import DEFAULT_REST_URL, RestV1Client
from ._secret import Secret
from ._sign import php_urlencode, rest_v1_query, rest_v1_signature
from ._sync import CallApiSync, DataApiSync, RestV1Sync
from ._webhook import (
    SIGNED_FIELDS,
    EventHandler,
    WebhookEvent,
    parse_form,
    verify_webhook,
    webhook_app,
    webhook_signature,
    zd_echo,
)

__all__ = [
    "CALL_API_URL",
    "DATA_API_URL",
    "DEFAULT_REST_URL",
    "SIGNED_FIELDS",
    "Account",
    "ActiveCall",
    "ApiLimits",
    "Balance",
    "CallApiClient",
    "CallApiSync",
    "CallLeg",
    "CallReportRow",
    "CallbackResult",
    "DataApiClient",
    "DataApiSync",
    "EventHandler",
    "JsonRpcClient",
    "NovofonAccountInactive",
    "NovofonApiError",
    "NovofonAuthError",
    "NovofonBadParams",
    "NovofonBlocked",
    "NovofonComponentDisabled",
    "NovofonConnectionError",
    "NovofonError",
    "NovofonForbidden",
    "NovofonIpNotWhitelisted",
    "NovofonOutcomeUnknown",
    "NovofonProtocolError",
    "NovofonRateLimited",
    "NovofonServerError",
    "NovofonTimeout",
    "NovofonVirtualNumberError",
    "NovofonWebhookError",
    "PbxExtensionStatus",
    "PbxInternal",
    "RateLimitInfo",
    "RegisteredAddress",
    "RestV1Client",
    "RestV1Sync",
    "RetryPolicy",
    "Secret",
    "SimpleCall",
    "SipLine",
    "SipNumber",
    "SipNumbers",
    "SipStatus",
    "Statistics",
    "StatisticsRecord",
    "VirtualNumber",
    "WebhookEvent",
    "e164_digits",
    "parse_form",
    "php_urlencode",
    "rest_v1_query",
    "rest_v1_signature",
    "verify_webhook",
    "webhook_app",
    "webhook_signature",
    "zd_echo",
]
