"""Orchestration: the Prefect flow, its settings, and the ``form3`` command line. No XML here."""
