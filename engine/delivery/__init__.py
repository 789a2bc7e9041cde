"""Delivery: the edge that takes outbox messages off the machine (``send``, ``tick``).

``recipients`` resolves a message's address to persons and their addresses, ``content`` decides
what leaves the machine under the practice's ``phi`` setting, ``smtp`` and ``webhook`` are the
channels, ``secrets`` reads their passwords, and ``sender`` runs one delivery pass over the
outbox and records each attempt (docs/delivery.md).
"""
