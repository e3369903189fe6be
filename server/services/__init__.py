"""Use cases: take plain data, return results, raise domain errors; no HTTP here."""
