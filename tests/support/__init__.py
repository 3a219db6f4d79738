"""Helpers shared by every kha integration test (Python 3 standard library only).

Import the facade: ``from support import harness``. See README.md.
"""
