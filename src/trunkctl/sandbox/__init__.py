"""The sandbox lab: a real Asterisk 22 pbx and an emulated NovoFon on loopback.

It is both the demo a newcomer runs and the ground truth of the test suite.
"""

from ._configs import TEST_NUMBERS, VERIFICATION_NUMBER, TestNumber
from ._sandbox import PBX_ADDRESS, PROVIDER_ADDRESS, Sandbox, SandboxState

__all__ = [
    "PBX_ADDRESS",
    "PROVIDER_ADDRESS",
    "TEST_NUMBERS",
    "VERIFICATION_NUMBER",
    "Sandbox",
    "SandboxState",
    "TestNumber",
]
