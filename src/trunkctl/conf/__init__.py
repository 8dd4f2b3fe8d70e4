"""Lossless Asterisk .conf documents, Asterisk-exact reading, and safe writes."""
