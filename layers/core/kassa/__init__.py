"""Kassa: a wallet and transaction ledger on DynamoDB (the shared layer of every function)."""

from kassa.startup import pause_for_init

# Before anything heavy is imported: a function's init runs with the collector paused (kassa.startup).
pause_for_init()
