"""Listing a source and recording what it lists: new images added, vanished ones flagged,
returned ones restored, changed ones noted. Nothing here reads pixels."""

import urllib.error
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from projects.models import Image, Source
from projects.sources.azure import azure_list
from projects.sources.folder import folder_list
from projects.sources.listing import Listed, SourceUnavailable
from projects.sources.web import RefusedURL, url_head

BATCH = 2000
URL_CHECKS_AT_ONCE = 8
GONE = "Not found when the source was last scanned."


@dataclass
class ScanResult:
    listed: int = 0
    added: int = 0
    vanished: int = 0
    returned: int = 0
    changed: int = 0
    unreadable: int = 0

    def as_json(self) -> dict:
        return asdict(self)


def source_listing(source: Source, *, check_remote: bool = True) -> Iterator[Listed]:
    """What the source holds now. `check_remote=False` lists URLs without asking them."""
    location = source.location
    if source.kind == Source.Kind.UPLOAD:
        return _upload_listing(source)
    if source.kind == Source.Kind.FOLDER:
        return folder_list(
            Path(location["path"]),
            recursive=location.get("recursive", True),
            extensions=location.get("extensions") or settings.ANNOTATOR_IMAGE_EXTENSIONS,
        )
    if source.kind == Source.Kind.URL:
        urls = location.get("urls", [])
        return _url_listing(urls) if check_remote else map(Listed, urls)
    if source.kind == Source.Kind.AZURE_BLOB:
        return azure_list(source)
    raise SourceUnavailable(f"Unknown source kind {source.kind!r}.")


def _upload_listing(source: Source) -> Iterator[Listed]:
    root = Path(settings.ANNOTATOR_UPLOAD_DIR)
    for path, etag in source.images.values_list("path", "etag").iterator(chunk_size=BATCH):
        file = root / path
        if file.is_file():
            yield Listed(path=path, size=file.stat().st_size, etag=etag)


def _url_listing(urls: list[str]) -> Iterator[Listed]:
    # Each check waits on a remote server; a few at a time keeps a long list bearable.
    with ThreadPoolExecutor(max_workers=URL_CHECKS_AT_ONCE) as pool:
        yield from pool.map(_url_entry, urls)


def _url_entry(url: str) -> Listed:
    try:
        size, etag = url_head(url)
    except urllib.error.HTTPError as error:
        if error.code in {404, 410}:
            return Listed(path=url, problem=f"{url!r} answered {error.code} {error.reason}.")
        if error.code in {403, 405, 501}:
            # Many servers refuse HEAD but serve GET; the next read will tell.
            return Listed(path=url)
        return Listed(path=url, problem=f"{url!r} answered {error.code} {error.reason}.")
    except RefusedURL as error:
        return Listed(path=url, problem=str(error))
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return Listed(path=url, problem=f"{url!r} cannot be reached: {reason}.")
    return Listed(path=url, size=size, etag=etag)


def scan_apply(
    source: Source,
    listing: Iterator[Listed],
    *,
    progress: Callable[[int], bool] = lambda done: True,
) -> ScanResult:
    """Record a listing against the images the source has. `progress(done)` returning False
    stops the scan (a cancel) before anything is flagged as vanished."""
    existing = {
        path: (pk, size, etag, available)
        for pk, path, size, etag, available in source.images.values_list(
            "pk", "path", "size", "etag", "available"
        ).iterator(chunk_size=BATCH)
    }
    result = ScanResult()
    seen: set[str] = set()
    new: list[Listed] = []
    returned: list[int] = []
    changed: list[Image] = []
    problems: dict[str, list[int]] = {}
    for entry in listing:
        result.listed += 1
        row = existing.get(entry.path)
        if entry.problem:
            result.unreadable += 1
            if row is not None:
                problems.setdefault(entry.problem, []).append(row[0])
            else:
                new.append(Listed(path=entry.path))  # registered; its first read says why
            seen.add(entry.path)
            continue
        seen.add(entry.path)
        if row is None:
            new.append(entry)
        else:
            pk, size, etag, available = row
            if not available:
                returned.append(pk)
            if (entry.size, entry.etag) != (size, etag) and (entry.size or entry.etag):
                changed.append(Image(pk=pk, size=entry.size, etag=entry.etag))
        if result.listed % BATCH == 0:
            result.added += _insert(source, new)
            if not progress(result.listed):
                return result
    result.added += _insert(source, new)
    vanished = [row[0] for path, row in existing.items() if path not in seen and row[3]]
    _flag(source, vanished=vanished, returned=returned, changed=changed, problems=problems)
    result.vanished, result.returned, result.changed = len(vanished), len(returned), len(changed)
    return result


def _insert(source: Source, entries: list[Listed]) -> int:
    """Insert new images with one executemany per batch.

    The ORM's bulk_create costs about 250 microseconds per row here (SQLite's parameter
    limit cuts it into batches of ~47 rows, and every field of every row is prepared one by
    one); a pool of 100,000 files then takes half a minute. The rows differ only in path,
    size and etag, so every other column is prepared once. ON CONFLICT DO NOTHING keeps a
    retried or concurrent scan from failing on rows it already added.
    """
    if not entries:
        return 0
    count = len(entries)
    template, sql = _insert_statement(source)
    at = {name: index for index, name in enumerate(template)}
    rows = []
    for entry in entries:
        row = list(template.values())
        row[at["path"]], row[at["size"]], row[at["etag"]] = entry.path, entry.size, entry.etag
        rows.append(row)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    entries.clear()
    return count


def _insert_statement(source: Source) -> tuple[dict, str]:
    fields = [f for f in Image._meta.concrete_fields if not f.primary_key]
    values = {f.attname: f.get_default() for f in fields}
    values.update(project_id=source.project_id, source_id=source.pk, added_at=timezone.now())
    template = {f.attname: f.get_db_prep_save(values[f.attname], connection) for f in fields}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {quote(Image._meta.db_table)} ({columns}) VALUES ({marks}) "
        "ON CONFLICT DO NOTHING"
    )
    return template, sql


@transaction.atomic
def _flag(source, *, vanished, returned, changed, problems) -> None:
    now = timezone.now()
    images = Image.objects.filter(source=source)
    for chunk in _chunks(vanished):
        images.filter(pk__in=chunk).update(available=False, unavailable_reason=GONE, checked_at=now)
    for reason, pks in problems.items():
        for chunk in _chunks(pks):
            images.filter(pk__in=chunk).update(
                available=False, unavailable_reason=reason, checked_at=now
            )
    for chunk in _chunks(returned):
        images.filter(pk__in=chunk).update(available=True, unavailable_reason="", checked_at=now)
    # The content hash stays: the next read compares it and reports a change.
    Image.objects.bulk_update(changed, ["size", "etag"], batch_size=500)


def _chunks(items: list, size: int = 900):
    for start in range(0, len(items), size):
        yield items[start : start + size]
