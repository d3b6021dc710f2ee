"""Object ids as every route reads them: whole numbers from 1 to 2**63 - 1.

Every table of the project has a BigAutoField key, a signed 64-bit integer on SQLite and
PostgreSQL alike; a larger number does not fit in a query parameter at all (SQLite raises
OverflowError). So an id is bounded where it is parsed, in the path, the query string, a
JSON or form body and a WebSocket message, and what is no id is refused there: 404 in a
path, 400 elsewhere. Django's own users have a 32-bit key on PostgreSQL; they are only
looked up by exact key, which Django answers as "no such row" for any out-of-range value.
"""

from rest_framework import serializers

ID_MAX = 2**63 - 1
ID_ERROR = f"Must be an id: a whole number from 1 to {ID_MAX}."


def parse_id(value: object) -> int | None:
    """The id `value` names, or None when it names none.

    An int, or a string of ASCII digits (paths, query strings and forms carry text); never a
    bool, a float (JSON 1e22, 3.0) or digits of other scripts, which int() would accept.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 1 <= number <= ID_MAX else None


def query_id(params, name: str) -> int | None:
    """An optional id in the query string: None when absent or empty, 400 when no id."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    number = parse_id(raw)
    if number is None:
        raise serializers.ValidationError({name: [ID_ERROR]})
    return number


class IdField(serializers.IntegerField):
    """An id in a request body; its schema says integer, 1 to 2**63 - 1."""

    default_error_messages = {
        "invalid": ID_ERROR,
        "min_value": ID_ERROR,
        "max_value": ID_ERROR,
        "max_string_length": ID_ERROR,
    }

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=ID_MAX, **kwargs)

    def to_internal_value(self, data):
        number = parse_id(data)
        if number is None:
            self.fail("invalid")
        return number


class IdConverter:
    """`<id:name>` in a URL: a path whose number is no id matches no route, so it is a 404."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(ID_ERROR)
        return number

    def to_url(self, value) -> str:
        return str(value)
