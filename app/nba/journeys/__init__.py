"""Journeys: declarative follow-ups ("on cart abandonment, wait 2 h, send a reminder; if no
purchase within 2 days, offer free shipping; stop on purchase") run as durable workflows on
the job engine (app/jobs, DBOS Transact): timers survive restarts and kill -9, each step's
effect happens once (a ledger row with a unique (run, step) key written in the same
transaction as the effect), triggers come from the return channel and the catalog."""
