"""Pages that show several lists (the case page, its evidence page), each paginated on its own query
parameter: moving through one list keeps the others where they are."""

from __future__ import annotations

from django.core.paginator import Page, Paginator


class ListPages:
    """The lists named in ``params`` (list name -> query parameter), ``per_page`` rows each."""

    def __init__(self, request, params: dict[str, str], per_page: int):
        self.request, self.params, self.per_page = request, params, per_page

    def page(self, name: str, queryset) -> Page:
        return Paginator(queryset, self.per_page).get_page(self.request.GET.get(self.params[name]))

    def context(self) -> dict:
        """For templates/casework/_pages.html: each list's parameter, and the query string without it."""
        queries = {}
        for name, param in self.params.items():
            query = self.request.GET.copy()
            query.pop(param, None)
            queries[name] = query.urlencode()
        return {"page_params": self.params, "queries": queries}
