"""A wire-faithful fake Salesforce org for tests and the demo (see server.py)."""

from calltui.fakeorg.server import FakeOrg, Faults

__all__ = ["FakeOrg", "Faults"]
