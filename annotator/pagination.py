"""Pages of the API's long lists."""

from rest_framework.pagination import LimitOffsetPagination


class Pages(LimitOffsetPagination):
    """`?limit=&offset=` pages of at most 1000 rows: a larger limit is taken as 1000, so no
    number beyond what SQL can hold reaches the query (SQLite refuses one over 2**63 - 1)."""

    max_limit = 1000
