"""The NBA services of a worker, or 503 when this server runs without them."""

from __future__ import annotations

from app.errors import DependencyUnavailable
from app.nba.service import NbaServices
from app.runtime import Runtime


def nba_of(rt: Runtime) -> NbaServices:
    if rt.nba is None:
        raise DependencyUnavailable("next best action is not enabled on this server "
                                    "(TAILOR_NBA_ENABLED)")
    return rt.nba
