"""The models a project can choose: SAM2.1 and SAM2 checkpoints, a manual path, `classic`.

Official checkpoints are published by Meta at fixed URLs; ANNOTATOR_MODEL_BASE_URL replaces
the host part (a mirror, or a local server in tests). "base" is an alias of "base_plus": both
names load the same file, so the list shows it once.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

OFFICIAL_BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything_2"
CLASSIC = "classic"
MANUAL = "manual"


@dataclass(frozen=True)
class ModelSpec:
    key: str
    family: str  # "sam2.1", "sam2" or "classic"
    size: str  # tiny, small, base_plus, large
    label: str
    config: str
    filename: str
    release: str  # the folder of the official URL
    parameters_m: float  # millions of parameters
    download_mb: float  # approximate; the server's Content-Length is what is verified
    sha256: str = ""  # verified after download when known

    @property
    def url(self) -> str:
        base = (settings.ANNOTATOR_MODEL_BASE_URL or OFFICIAL_BASE_URL).rstrip("/")
        return f"{base}/{self.release}/{self.filename}"

    @property
    def path(self) -> Path:
        return Path(settings.ANNOTATOR_MODEL_DIR) / self.filename

    def is_present(self) -> bool:
        return self.path.is_file()


_SIZES = [
    # size, config suffix, parameters (M), download (MB) for 2.1, for 2.0
    ("tiny", "t", 38.9, 149.0, 148.7),
    ("small", "s", 46.0, 176.0, 175.8),
    ("base_plus", "b+", 80.8, 309.0, 308.5),
    ("large", "l", 224.4, 857.0, 856.4),
]

MODELS: dict[str, ModelSpec] = {}
for _size, _suffix, _params, _mb21, _mb20 in _SIZES:
    _spec21 = ModelSpec(
        key=f"sam2.1_hiera_{_size}",
        family="sam2.1",
        size=_size,
        label=f"SAM 2.1 Hiera {_size.replace('_', ' ').title()}",
        config=f"configs/sam2.1/sam2.1_hiera_{_suffix}.yaml",
        filename=f"sam2.1_hiera_{_size}.pt",
        release="092824",
        parameters_m=_params,
        download_mb=_mb21,
    )
    _spec20 = ModelSpec(
        key=f"sam2_hiera_{_size}",
        family="sam2",
        size=_size,
        label=f"SAM 2 Hiera {_size.replace('_', ' ').title()}",
        config=f"configs/sam2/sam2_hiera_{_suffix}.yaml",
        filename=f"sam2_hiera_{_size}.pt",
        release="072824",
        parameters_m=_params,
        download_mb=_mb20,
    )
    MODELS[_spec21.key] = _spec21
    MODELS[_spec20.key] = _spec20

ALIASES = {"sam2.1_hiera_base": "sam2.1_hiera_base_plus", "sam2_hiera_base": "sam2_hiera_base_plus"}

PACKAGED_CONFIGS = sorted({spec.config for spec in MODELS.values()})


def resolve_key(key: str) -> str:
    return ALIASES.get(key, key)


def spec_for(key: str) -> ModelSpec:
    spec = MODELS.get(resolve_key(key))
    if spec is None:
        raise ValidationError({"key": f"Unknown model {key!r}. Choose one of the model list."})
    return spec


def get_available_model_keys() -> list[dict]:
    """Every choice for the model dropdown, each once, with what the client shows."""
    entries = [
        {
            **asdict(spec),
            "url": spec.url,
            "present": spec.is_present(),
            "kind": "sam2",
        }
        for spec in MODELS.values()
    ]
    entries.append(
        {
            "key": CLASSIC,
            "family": "classic",
            "size": "",
            "label": "Classic (no SAM weights: GrabCut clicks, superpixel automask)",
            "config": "",
            "filename": "",
            "release": "",
            "parameters_m": 0.0,
            "download_mb": 0.0,
            "sha256": "",
            "url": "",
            "present": True,
            "kind": "classic",
        }
    )
    return entries


def model_roots() -> list[Path]:
    roots = [Path(settings.ANNOTATOR_MODEL_DIR), *settings.ANNOTATOR_MODEL_ROOTS]
    return [root.resolve() for root in roots]


def default_key() -> str:
    """The embedded default: the smallest SAM2.1 checkpoint present, else `classic`."""
    for spec in MODELS.values():
        if spec.family == "sam2.1" and spec.is_present():
            return spec.key
    return CLASSIC
