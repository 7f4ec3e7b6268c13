"""The application: acts (one transaction each), queries, the audit, set-up."""
