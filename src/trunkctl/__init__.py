"""trunkctl: set up, test and diagnose an Asterisk PJSIP trunk to NovoFon.

The library is layered (``conf`` → ``pjsip``/``ami``/``sip``/``novofon``/``sandbox``, with
``cli`` on top); importing this package stays cheap so that ``trunkctl --version`` is fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
