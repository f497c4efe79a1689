"""The catalogue: the bureau's spreadsheets (winning products, agreed volumes) and 对码.

Modules: ``sheets`` reads xlsx/xls/csv, ``headers`` finds the header row by synonyms, ``winners``
and ``volumes`` parse and commit imports, ``mapping`` runs 对码, ``review`` writes and reads the
pharmacist's review workbook. Every query lives in ``agent.store.catalogue`` (programmes,
products, volumes, groups, imports, and what the other areas ask) and ``agent.store.mappings`` (对码).
"""
