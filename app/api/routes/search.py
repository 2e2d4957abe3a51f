"""Search and item-to-item: the retrieval endpoint, re-ranked for a customer when asked.

Plain `def` routes: FastAPI runs them on the thread pool, so the database and the index
never block the event loop. Library errors (bad filter, unknown item, empty catalog) reach
the caller through app/api/errors.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from app.api.deps import (
    OptionalPrincipalDep,
    PublicLimit,
    RuntimeDep,
    get_search,
    own_visitor,
    widget_visitor,
)
from app.errors import Forbidden, InvalidInput, NotFound
from app.runtime import Runtime
from app.schemas.catalog import is_staff, item_view
from app.schemas.search import SearchHit, SearchResult
from app.services.auth import Principal
from app.services.subjects import subject
from retrieval import Filters, parse_query
from retrieval.hybrid import Hit, Reranker, SearchMode

router = APIRouter(tags=["search"])

KQuery = Annotated[int, Query(ge=1, le=100, description="Number of results (1-100).")]


def _filters(category: str | None, min_price: float | None, max_price: float | None,
             in_stock: bool, require: list[str], exclude: list[str], exclude_ids: list[str],
             age: int | None) -> Filters:
    return Filters(category=category, min_price=min_price, max_price=max_price,
                   in_stock=in_stock, require=tuple(require), exclude=tuple(exclude),
                   exclude_ids=frozenset(exclude_ids), age=age)


class FilterParams:
    """Query parameters shared by search and similar."""

    def __init__(
        self,
        category: Annotated[str | None, Query(max_length=300, examples=["Footwear"])] = None,
        min_price: Annotated[float | None, Query(ge=0)] = None,
        max_price: Annotated[float | None, Query(ge=0)] = None,
        in_stock: bool = False,
        require: Annotated[list[str], Query(description="Attribute terms that must match, "
                                            "e.g. diet=vegan or just vegan")] = [],  # noqa: B006
        exclude: Annotated[list[str], Query(description="Attribute terms that must not "
                                            "match, e.g. material=leather")] = [],  # noqa: B006
        exclude_ids: Annotated[list[str], Query(description="Item ids to leave out")] = [],  # noqa: B006
        age: Annotated[int | None, Query(ge=0, le=120, description="Recipient age")] = None,
    ) -> None:
        self.filters = _filters(category, min_price, max_price, in_stock, require, exclude,
                                exclude_ids, age)


def _personalizer(request: Request, rt: Runtime, principal: Principal | None,
                  customer_id: str | None) -> tuple[Reranker | None, str | None]:
    """(reranker or None, note) for this caller and customer, honouring consent; unknown
    people get plain results with a note, never an error."""
    if customer_id is None:
        return None, None
    if principal is None:
        raise Forbidden("personalized search (customer_id) needs an API key")
    # Only here: a widget searching without a customer_id needs no visitor token.
    own_visitor(widget_visitor(request, rt, principal), customer_id,
                "a widget key may only personalize for its own visitor")
    if rt.prefs is None:
        return None, "personalization is not available on this server"
    with rt.sessions() as db:
        try:
            person = subject(db, customer_id, personalization_default=rt.settings
                             .default_consent_personalization)
        except NotFound:
            return None, "unknown customer: results are not personalized"
    if not person.consent.personalization:
        return None, "the customer has not consented to personalization"
    return rt.prefs.reranker(person.profile_id, person.consent.sensitive), None


def _hits(hits: list[Hit], principal: Principal | None) -> list[SearchHit]:
    """Hits with each item in the caller's view: cost, margin and stock only for staff."""
    staff = principal is not None and is_staff(principal.role)
    return [SearchHit(item_id=h.item_id, score=h.score, dense_score=h.dense_score,
                      lexical_score=h.lexical_score,
                      item=None if h.item is None else item_view(h.item, staff)) for h in hits]


@router.get("/search", response_model=SearchResult, dependencies=[PublicLimit],
            summary="Hybrid catalog search with constraints understood from the text")
def search(request: Request, rt: RuntimeDep, principal: OptionalPrincipalDep,
           params: Annotated[FilterParams, Depends()],
                 q: Annotated[str, Query(min_length=1, max_length=500,
                                         examples=["vegan running shoes under $80"])],
                 k: KQuery = 10,
                 mode: SearchMode = "hybrid",
                 customer_id: Annotated[str | None, Query(max_length=128)] = None,
                 ) -> SearchResult:
    """Dense (MiniLM) and lexical (BM25) results fused by reciprocal rank fusion, so SKUs,
    brand names and rare words match too. Constraints in the text ("under $50", "no
    leather", "size M", "for a 6-year-old") become hard filters; filters never shrink the
    result below k while k items match. With `customer_id` the results are re-ranked by
    the customer's preference model (if they consented to personalization)."""
    if not q.strip():
        raise InvalidInput("q must not be blank")
    index = get_search(rt).require()
    reranker, note = _personalizer(request, rt, principal, customer_id)
    filters = params.filters
    parsed = parse_query(q, index.categories())
    hits = index.search(q, k, filters, customer_id=customer_id, reranker=reranker, mode=mode)
    merged = parsed.filters.merged(filters)
    return SearchResult(query=q, query_text=parsed.query_text, constraints=list(
        parsed.constraints), filters=merged.describe(), personalized=reranker is not None,
        personalization_note=note, hits=_hits(hits, principal))


@router.get("/items/{item_id}/similar", response_model=SearchResult,
            dependencies=[PublicLimit], summary="Items like this one (item-to-item)")
def similar(request: Request, item_id: str, rt: RuntimeDep, principal: OptionalPrincipalDep,
            params: Annotated[FilterParams, Depends()], k: KQuery = 10,
            customer_id: Annotated[str | None, Query(max_length=128)] = None,
            ) -> SearchResult:
    """The "customers who viewed this also viewed" row: nearest items by content, never
    the item itself, with the same filters and optional personal re-ranking as search."""
    index = get_search(rt).require()
    reranker, note = _personalizer(request, rt, principal, customer_id)
    filters = params.filters
    hits = index.similar(item_id, k, filters, customer_id=customer_id, reranker=reranker)
    return SearchResult(query=item_id, query_text="", constraints=[],
                        filters=(filters or Filters()).describe(),
                        personalized=reranker is not None, personalization_note=note,
                        hits=_hits(hits, principal))
