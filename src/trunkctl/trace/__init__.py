"""SIP traces of one test call or one registration: a ladder, JSON, a pcap, evidence.

Mechanism: a passive capture of Asterisk's own SIP transport ports (an ``AF_PACKET`` socket
with a kernel BPF filter on those ports, read while the call runs, closed right after).
Why this one, of the three possible:

- It changes nothing in Asterisk: no logger switched on, no module loaded, no config
  written, so nothing can be *left on* after trunkctl exits — a Ctrl-C or a crash closes
  the socket with the process, and the kernel drops the filter. Asterisk's log does not grow
  by a byte (measured: docs/sip.md).
- It works on a stock Debian Asterisk of any version. ``pjsip set logger host H`` writes
  every message into the verbose log (measured: +6.3 KB of messages.log per test call),
  and reading it back races with log rotation; its ``pcap`` option (present in Asterisk 22)
  writes where Asterisk's user can, and either mode stays on if trunkctl dies between "on"
  and "off" — a guard could only switch it off on the next run, after the log grew. HEP
  needs ``res_hep_pjsip`` loaded and ``hep.conf`` written (a change to the user's server)
  plus a collector.
- It sees exactly what crossed the wire, retransmissions included, with kernel timestamps
  taken as the packets pass.

Costs: root (or ``CAP_NET_RAW``) — without it the call still runs and the trace says why;
TLS/WebSocket transports cannot be read; IP fragments are not reassembled. TCP is put back
in order and framed by Content-Length. Authorization / Proxy-Authorization are masked before
anything leaves this package (ladder, JSON, pcap).
"""

from ._api import (
    SipTracer,
    asterisk_endpoints,
    capture_register_exchange,
    parse_transports,
    provider_answer,
)
from ._capture import CaptureUnavailable, PortCapture, bpf_program
from ._ladder import ladder_lines, ladder_text
from ._model import (
    MASK,
    Direction,
    Endpoint,
    SipTrace,
    TracedMessage,
    mask_credentials,
    select_call,
    select_register,
    traced,
)
from ._packets import PacketDecoder, WireMessage, frame_stream
from ._pcap import pcap_bytes, write_pcap

__all__ = [
    "MASK",
    "CaptureUnavailable",
    "Direction",
    "Endpoint",
    "PacketDecoder",
    "PortCapture",
    "SipTrace",
    "SipTracer",
    "TracedMessage",
    "WireMessage",
    "asterisk_endpoints",
    "bpf_program",
    "capture_register_exchange",
    "frame_stream",
    "ladder_lines",
    "ladder_text",
    "mask_credentials",
    "parse_transports",
    "pcap_bytes",
    "provider_answer",
    "select_call",
    "select_register",
    "traced",
    "write_pcap",
]
