"""The served county shared by the FHIR tests that walk a whole county (built once a session)."""

from tests.fhir.county import county

__all__ = ["county"]
