"""Next best action: offers, propensities, business rules, decisions, experiments, journeys
and delivery slots. See docs/nba.md.

Kept import-light: `app.db.models` imports `app.nba.tables` to register the tables."""
