"""The operator's side of Loa: metrics, the status page, readiness, doctor, housekeeping.

Nothing here is on the path of an article; these modules read what the domain
core (:mod:`news`) records and expose it to the people and tools that run Loa.
"""
