"""Extraction: reading a filing, its SEC header, the lxml parser, the data model, the tables.

Everything here except :mod:`tasks.prefect_tasks` is pure Python with no Prefect import, so it
can be tested, benchmarked and reused without an orchestrator.
"""
