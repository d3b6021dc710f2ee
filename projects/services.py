"""Writes and workflows on projects, members and labels."""

import math
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, transaction

from projects.models import (
    ImageStatus,
    Label,
    Membership,
    Project,
    Role,
    UserProjectSettings,
    label_color_free,
)

DEFAULT_LABELS = ("object",)
# The project settings the state route writes; the model selection has its own services.
# The automask parameters live in Project.ui_settings["automask_params"], where archives
# and older code keep them; so does `embeddings_auto` (prepare the pool's embeddings on
# their own when a model is loaded or images are added).
STATE_FIELDS = ("export_settings", "automask_params", "embeddings_auto")


@transaction.atomic
def project_create(*, name: str, description: str = "", owner) -> Project:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A project needs a name."})
    if Project.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"A project named {name!r} exists already."})
    project = Project.objects.create(name=name, description=description, created_by=owner)
    Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    for label_name in DEFAULT_LABELS:
        taken = project.labels.values_list("color", flat=True)
        Label.objects.create(project=project, name=label_name, color=label_color_free(taken))
    return project


def project_update(
    *,
    project: Project,
    name: str | None = None,
    description: str | None = None,
    review_required: bool | None = None,
):
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationError({"name": "A project needs a name."})
        if Project.objects.filter(name__iexact=name).exclude(pk=project.pk).exists():
            raise ValidationError({"name": f"A project named {name!r} exists already."})
        project.name = name
    if description is not None:
        project.description = description
    if review_required is not None:
        project.review_required = review_required
    project.save()
    return project


def project_state_update(
    *, project: Project, changes: dict, user=None, view_changes: dict | None = None
) -> Project:
    """Merge `changes` into the project settings: `export_settings` is merged key by key,
    `automask_params` replaced whole. `view_changes` (the view keys an older client sends
    in `ui_settings`) go to `user`'s own settings, in the same transaction."""
    unknown = set(changes) - set(STATE_FIELDS)
    if unknown:
        raise ValidationError({"state": f"Unknown state fields: {', '.join(sorted(unknown))}."})
    for field, value in changes.items():
        if field == "embeddings_auto":
            if not isinstance(value, bool):
                raise ValidationError({field: "Must be true or false."})
        elif not isinstance(value, dict):
            raise ValidationError({field: "Must be a JSON object."})
    view = view_settings_clean(view_changes, prefix="ui_settings.") if view_changes else {}
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        updated = []
        if "export_settings" in changes:
            locked.export_settings = {**locked.export_settings, **changes["export_settings"]}
            updated.append("export_settings")
        if "automask_params" in changes:
            params = dict(changes["automask_params"])
            locked.ui_settings = {**locked.ui_settings, "automask_params": params}
            updated.append("ui_settings")
        if "embeddings_auto" in changes:
            locked.ui_settings = {
                **locked.ui_settings,
                "embeddings_auto": changes["embeddings_auto"],
            }
            updated.append("ui_settings")
        if updated:
            locked.save(update_fields=[*dict.fromkeys(updated), "updated_at"])
        if view:
            _user_settings_merge(user=user, project=locked, changes=view)
    return locked


def project_automask_params(project: Project) -> dict:
    """The project's automask parameters (shared by every member)."""
    params = project.ui_settings.get("automask_params")
    return params if isinstance(params, dict) else {}


# Each user's view settings in a project ------------------------------------------------


def _choice(*choices: str) -> Callable[[Any], Any]:
    def check(value):
        if value not in choices:
            raise ValueError(f"Must be one of {', '.join(repr(c) for c in choices)}.")
        return value

    return check


def _number(low: float, high: float, *, whole: bool = False) -> Callable[[Any], Any]:
    def check(value):
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
            raise ValueError(f"Must be a {'whole ' if whole else ''}number.")
        if not low <= value <= high:
            raise ValueError(f"Must be from {low} to {high}.")
        return value

    return check


def _flag(value):
    if not isinstance(value, bool):
        raise ValueError("Must be true or false.")
    return value


def _text(limit: int, *, digits: bool = False) -> Callable[[Any], Any]:
    def check(value):
        if not isinstance(value, str):
            raise ValueError("Must be a string.")
        if len(value) > limit:
            raise ValueError(f"Must be at most {limit} characters.")
        if digits and value and not (value.isascii() and value.isdigit()):
            raise ValueError("Must be an id (digits) or empty.")
        return value

    return check


POOL_FILTERS: dict[str, Callable[[Any], Any]] = {
    "status": _choice("", *ImageStatus.values),
    "source": _text(19, digits=True),
    "available": _choice("", "true", "false"),
    "search": _text(200),
    # The pool's A, P, E and completed flags.
    **{
        flag: _choice("", "true", "false")
        for flag in ("has_automask", "has_manual_prediction", "has_manual_edit", "completed")
    },
    "open_issues": _choice("", "true"),
}


def _pool_filters(value):
    if not isinstance(value, dict):
        raise ValueError("Must be a JSON object.")
    unknown = sorted(set(value) - set(POOL_FILTERS))
    if unknown:
        raise ValueError(f"Unknown pool filters: {', '.join(map(str, unknown))}.")
    cleaned = {}
    for name, check in POOL_FILTERS.items():
        if name in value:
            try:
                cleaned[name] = check(value[name])
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
    return cleaned


# The closed set of view settings, each with its check (the cleaned value, or ValueError
# with the reason); MySettingsApi's docstring describes them for the API schema.
VIEW_SETTINGS: dict[str, Callable[[Any], Any]] = {
    "tool": _choice("point", "box", "select", "brush", "eraser", "polygon", "automask"),
    "opacity": _number(0, 1),
    "brush_size": _number(1, 200, whole=True),
    "panels": _choice("shown", "hidden"),
    "pool_filters": _pool_filters,
    "browser_decoder": _flag,
    "hover_preview": _flag,
}


def view_settings_clean(changes: Any, *, prefix: str = "") -> dict:
    """The checked view settings in `changes`, or ValidationError naming each bad key
    (`prefix` + key). A null value removes the key (back to the default)."""
    if not isinstance(changes, dict):
        raise ValidationError({prefix.rstrip(".") or "settings": "Must be a JSON object."})
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        check = VIEW_SETTINGS.get(key) if isinstance(key, str) else None
        if check is None:
            known = ", ".join(VIEW_SETTINGS)
            errors[f"{prefix}{str(key)[:100]}"] = f"Unknown view setting; known: {known}."
            continue
        try:
            cleaned[key] = None if value is None else check(value)
        except ValueError as error:
            errors[f"{prefix}{key}"] = str(error)
    if errors:
        raise ValidationError(errors)
    return cleaned


def view_settings_valid(stored: Any) -> dict:
    """The entries of stored settings that pass today's checks (what was saved under older
    rules, or migrated from a project, may not)."""
    if not isinstance(stored, dict):
        return {}
    valid = {}
    for key, check in VIEW_SETTINGS.items():
        if stored.get(key) is None:
            continue
        try:
            valid[key] = check(stored[key])
        except ValueError:
            continue
    return valid


def user_settings_for(*, user, project: Project) -> dict:
    """`user`'s view settings in `project` (empty for a user who saved none)."""
    if not user.is_authenticated:
        return {}
    row = UserProjectSettings.objects.filter(user=user, project=project).first()
    return view_settings_valid(row.values) if row is not None else {}


def user_settings_update(*, user, project: Project, changes: Any) -> dict:
    """Merge `changes` into `user`'s view settings in `project`; the settings after."""
    cleaned = view_settings_clean(changes)
    with transaction.atomic():
        return _user_settings_merge(user=user, project=project, changes=cleaned)


def _user_settings_merge(*, user, project: Project, changes: dict) -> dict:
    row, _ = UserProjectSettings.objects.select_for_update().get_or_create(
        user=user, project=project
    )
    merged = {**view_settings_valid(row.values), **changes}
    row.values = {key: value for key, value in merged.items() if value is not None}
    row.save()
    return row.values


def user_settings_seed(*, user, project: Project, values: Any) -> dict:
    """Give `user` the valid view settings in `values` where they have none saved in
    `project` yet (a restored archive's settings); what they have now."""
    row, _ = UserProjectSettings.objects.get_or_create(
        user=user, project=project, defaults={"values": view_settings_valid(values)}
    )
    return view_settings_valid(row.values)


@transaction.atomic
def member_set(*, project: Project, user, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Role must be one of {', '.join(Role.values)}."})
    membership, created = Membership.objects.select_for_update().get_or_create(
        project=project, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        if membership.role == Role.OWNER and role != Role.OWNER:
            _ensure_another_owner(project, user)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, project: Project, user) -> None:
    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    if membership is None:
        raise ValidationError({"user": "That user is not a member of this project."})
    if membership.role == Role.OWNER:
        _ensure_another_owner(project, user)
    membership.delete()


def _ensure_another_owner(project: Project, user) -> None:
    owners = Membership.objects.filter(project=project, role=Role.OWNER).exclude(user=user)
    if not owners.exists():
        raise ValidationError({"role": "A project keeps at least one owner."})


def label_create(*, project: Project, name: str, color: str | None = None) -> Label:
    """A new label; without a colour it takes the first palette colour its project does not
    use yet."""
    with transaction.atomic():
        if color is None:
            # Two labels made at once must not both take the same free colour.
            Project.objects.select_for_update().get(pk=project.pk)
            color = label_color_free(project.labels.values_list("color", flat=True))
        return _label_save(Label(project=project, name=name.strip(), color=color))


def label_update(*, label: Label, name: str | None = None, color: str | None = None) -> Label:
    if name is not None:
        label.name = name.strip()
    if color is not None:
        label.color = color
    return _label_save(label)


def _label_save(label: Label) -> Label:
    """Save a new or changed label; a name its project has already is a clear 400 whose
    message is the sentence itself (no field prefix), as the label forms show it."""
    taken = ValidationError(f'A label named "{label.name}" already exists in this project.')
    label.full_clean(validate_constraints=False)
    others = Label.objects.filter(project_id=label.project_id, name=label.name)
    if others.exclude(pk=label.pk).exists():
        raise taken
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise taken from None
    return label


def admin_ensure(*, stdout=None) -> None:
    """Create the first admin account when there is none; print a generated password once."""
    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return
    password = settings.ANNOTATOR_ADMIN_PASSWORD or secrets.token_urlsafe(12)
    User.objects.create_superuser(
        username=settings.ANNOTATOR_ADMIN_USERNAME,
        email=settings.ANNOTATOR_ADMIN_EMAIL,
        password=password,
    )
    if stdout is not None:
        shown = "(from ANNOTATOR_ADMIN_PASSWORD)" if settings.ANNOTATOR_ADMIN_PASSWORD else password
        stdout.write(
            f"Created the admin account: user {settings.ANNOTATOR_ADMIN_USERNAME!r}, "
            f"password {shown}. It is shown only this once."
        )


DEMO_NAME = "Demo"
# Photographs shipped with scikit-image (public domain or CC0), so the demo needs no download.
DEMO_IMAGES = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png"]


def demo_project_create(*, owner) -> Project | None:
    """A project with a handful of real photographs, made on the first run only."""
    if Project.objects.filter(name=DEMO_NAME).exists():
        return None
    import skimage  # imported here: only the first run needs it

    from projects.sources.services import source_upload_create, upload_files

    data_dir = Path(skimage.__file__).parent / "data"
    files: list[UploadedFile] = [
        SimpleUploadedFile(name, (data_dir / name).read_bytes())
        for name in DEMO_IMAGES
        if (data_dir / name).is_file()
    ]
    with transaction.atomic():
        project = project_create(
            name=DEMO_NAME,
            description="Sample photographs to try the editor on.",
            owner=owner,
        )
        source = source_upload_create(project=project, name="Sample photographs")
        upload_files(project=project, files=files, source=source)
    return project
