"""Lossless Asterisk .conf documents, Asterisk-exact reading, and safe writes.

``parse`` gives a :class:`Document` that renders byte for byte until edited; ``resolve``
reads a file with its includes exactly as Asterisk 22's main/config.c does (what AMI
GetConfig returns); :class:`ConfigDir` locks, backs up, writes atomically and rolls back.
"""

from ._document import Document, Line, Section, parse
from ._files import Backup, ConfigDir, ConfRecoveryError, Recovery, Transaction, atomic_write
from ._problems import ConfMissingError, Problem
from ._resolve import Resolution, ResolvedSection, resolve, resolve_text
from ._secrets import MASK, is_secret_key, mask_secrets, masked_diff

__all__ = [
    "MASK",
    "Backup",
    "ConfMissingError",
    "ConfRecoveryError",
    "ConfigDir",
    "Document",
    "Line",
    "Problem",
    "Recovery",
    "Resolution",
    "ResolvedSection",
    "Section",
    "Transaction",
    "atomic_write",
    "is_secret_key",
    "mask_secrets",
    "masked_diff",
    "parse",
    "resolve",
    "resolve_text",
]
