"""The pure model of left-behind children's care work: aggregates, events, rules.

Imports only the standard library, msgspec and eventsourcing.domain (no I/O, no clock).
"""
