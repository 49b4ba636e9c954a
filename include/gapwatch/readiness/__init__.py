"""Data readiness: the steward's GX suite and the built-in checks, the stage that runs them,
suite suggestions and the Data Docs pages."""
