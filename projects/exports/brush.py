"""Label Studio's brush RLE and CVAT's mask RLE, written from their documented formats.

Label Studio stores a brush region as the RGBA pixels of a canvas the image's size, packed
by thi.ng's rle-pack: a bit stream (most significant bit first) of a 32-bit value count, the
word size minus one (5 bits), four run-length field widths minus one (4 bits each), then
chunks: one bit (1: a run of one word, 0: that many words as they are), two bits choosing
the width of the count field, the count minus one, and the word or words. Label Studio's
own package (label-studio-converter) pulls pandas, nltk and lxml into every process that
imports it, so the app encodes and decodes here and the tests read our files with theirs.

CVAT stores a mask as its bounding box (left, top, width, height) and the run lengths of
the box's pixels row by row, starting with a background run (0 when the box starts on the
mask).
"""

import numpy as np

WORD_BITS = 8
RUN_FIELDS = (3, 4, 8, 16)  # the widths of the count field, as Label Studio writes them
ALPHA_MIN = 128  # a pixel is in the mask when its alpha is at least this
# A hostile RLE could hold a chunk per value: one annotation with more is refused.
MAX_CHUNKS = 2**21


class BrushError(ValueError):
    """The bytes are not a brush RLE of the expected size; the message says why."""


def _bits(values: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """The fields (each value in its width of bits, most significant first) as one bit row."""
    top = int(widths.max())
    shifts = widths[:, None] - 1 - np.arange(top)[None, :]
    bits = (values[:, None] >> np.maximum(shifts, 0)) & 1
    return bits[shifts >= 0].astype(np.uint8)


def brush_encode(mask: np.ndarray) -> list[int]:
    """The brush RLE (a list of bytes) of a 2-D mask: its pixels white and opaque, the rest
    transparent black, as Label Studio's brush decodes and draws them."""
    flat = np.repeat(np.asarray(mask, dtype=bool).ravel(), 4)
    total = flat.size
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], changes))
    lengths = np.diff(np.concatenate((starts, [total]))).astype(np.int64)
    values = np.where(flat[starts], 255, 0).astype(np.int64)
    # A run longer than the widest count field goes as several runs of the same word.
    widest = 2 ** RUN_FIELDS[-1]
    pieces = -(-lengths // widest)
    last = np.cumsum(pieces) - 1
    values = np.repeat(values, pieces)
    split = np.full(values.size, widest, dtype=np.int64)
    split[last] = lengths - (pieces - 1) * widest
    lengths = split
    field = np.searchsorted(np.array([2**w for w in RUN_FIELDS]), lengths)
    widths = np.array(RUN_FIELDS)[field]
    header = np.array([total, WORD_BITS - 1, *(w - 1 for w in RUN_FIELDS)], dtype=np.int64)
    header_widths = np.array([32, 5, 4, 4, 4, 4])
    chunk_values = np.stack([np.ones_like(field), field, lengths - 1, values], axis=1).ravel()
    chunk_widths = np.stack(
        [np.ones_like(field), np.full_like(field, 2), widths, np.full_like(field, WORD_BITS)],
        axis=1,
    ).ravel()
    bits = np.concatenate(
        (
            _bits(header, header_widths),
            _bits(chunk_values.astype(np.int64), chunk_widths.astype(np.int64)),
        )
    )
    return np.packbits(bits).tolist()


class _Reader:
    def __init__(self, data: bytes):
        self.bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        self.at = 0

    def read(self, width: int) -> int:
        end = self.at + width
        if end > self.bits.size:
            raise BrushError("The brush RLE ends in the middle of a run.")
        value = 0
        for bit in self.bits[self.at : end].tolist():
            value = (value << 1) | bit
        self.at = end
        return value

    def words(self, count: int, width: int) -> np.ndarray:
        end = self.at + count * width
        if end > self.bits.size:
            raise BrushError("The brush RLE ends in the middle of a run.")
        rows = self.bits[self.at : end].reshape(count, width).astype(np.int64)
        self.at = end
        return rows @ (1 << np.arange(width - 1, -1, -1, dtype=np.int64))


def brush_decode(rle: object, height: int, width: int) -> np.ndarray:
    """The mask (2-D bool: alpha at least ALPHA_MIN) of a brush RLE made for an image of
    height x width, or BrushError when it is not one: its value count must be the image's
    pixels times four before anything the size of the image is made."""
    if not isinstance(rle, list) or not rle:
        raise BrushError("The brush RLE is not a list of bytes.")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in rle):
        raise BrushError("The brush RLE holds something other than whole numbers.")
    array = np.asarray(rle, dtype=np.int64)
    if array.min() < 0 or array.max() > 255:
        raise BrushError("The brush RLE holds numbers that are not bytes (0 to 255).")
    reader = _Reader(array.astype(np.uint8).tobytes())
    if reader.bits.size < 53:
        raise BrushError("The brush RLE is too short to hold its header.")
    count = reader.read(32)
    expected = height * width * 4
    if count != expected:
        raise BrushError(
            f"The brush RLE holds {count} values, but an RGBA image of {width}x{height} has "
            f"{expected}."
        )
    word = reader.read(5) + 1
    fields = [reader.read(4) + 1 for _ in range(4)]
    alpha = np.zeros(height * width, dtype=bool)
    done = chunks = 0
    while done < count:
        chunks += 1
        if chunks > MAX_CHUNKS:
            raise BrushError(f"The brush RLE has more than {MAX_CHUNKS} runs.")
        repeat = reader.read(1)
        length = reader.read(fields[reader.read(2)]) + 1
        end = done + length
        if end > count:
            raise BrushError("The brush RLE runs past the end of its image.")
        if repeat:
            _fill(alpha, done, end, reader.read(word) >= ALPHA_MIN)
        else:
            values = reader.words(length, word)
            positions = np.arange(done, end)
            kept = positions[(positions % 4 == 3) & (values >= ALPHA_MIN)]
            alpha[kept // 4] = True
        done = end
    return alpha.reshape(height, width)


def _fill(alpha: np.ndarray, start: int, end: int, on: bool) -> None:
    """Set the pixels whose alpha (value 4p + 3 of pixel p) lies in values [start, end)."""
    if on:
        first = max(0, -((3 - start) // 4))
        last = (end - 4) // 4
        if last >= first:
            alpha[first : last + 1] = True


def cvat_rle(mask: np.ndarray) -> tuple[list[int], tuple[int, int, int, int]] | None:
    """CVAT's run lengths of the mask's bounding box, row by row from a background run, and
    the box (left, top, width, height); None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero(mask.any(axis=0))
    top, left = int(rows[0]), int(columns[0])
    height, width = int(rows[-1]) - top + 1, int(columns[-1]) - left + 1
    flat = mask[top : top + height, left : left + width].ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat[0]:
        runs.insert(0, 0)
    return runs, (left, top, width, height)
