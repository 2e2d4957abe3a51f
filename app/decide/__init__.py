"""One decision path for every surface (recommendations, similar items, search re-ranking,
chat): candidates -> business rules -> preference ranking -> diversity -> Decision.
See docs/architecture.md."""

from app.decide.decision import Decider, Decision, Person, Surface

__all__ = ["Decider", "Decision", "Person", "Surface"]
