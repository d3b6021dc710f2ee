"""Writes and workflows on projects, members and labels."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, transaction

from projects.models import Label, Membership, Project, Role, label_color_free

DEFAULT_LABELS = ("object",)
STATE_FIELDS = ("ui_settings", "export_settings")


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


def project_update(*, project: Project, name: str | None = None, description: str | None = None):
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationError({"name": "A project needs a name."})
        if Project.objects.filter(name__iexact=name).exclude(pk=project.pk).exists():
            raise ValidationError({"name": f"A project named {name!r} exists already."})
        project.name = name
    if description is not None:
        project.description = description
    project.save()
    return project


def project_state_update(*, project: Project, changes: dict) -> Project:
    """Merge `changes` into the UI settings and export choices of the project state."""
    unknown = set(changes) - set(STATE_FIELDS)
    if unknown:
        raise ValidationError({"state": f"Unknown state fields: {', '.join(sorted(unknown))}."})
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        for field, value in changes.items():
            if not isinstance(value, dict):
                raise ValidationError({field: "Must be a JSON object."})
            setattr(locked, field, {**getattr(locked, field), **value})
        locked.save(update_fields=[*changes, "updated_at"])
    return locked


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
    try:
        with transaction.atomic():
            if color is None:
                # Two labels made at once must not both take the same free colour.
                Project.objects.select_for_update().get(pk=project.pk)
                color = label_color_free(project.labels.values_list("color", flat=True))
            label = Label(project=project, name=name.strip(), color=color)
            label.full_clean()
            label.save()
    except IntegrityError:
        raise ValidationError({"name": f"The label {name!r} exists already."}) from None
    return label


def label_update(*, label: Label, name: str | None = None, color: str | None = None) -> Label:
    if name is not None:
        label.name = name.strip()
    if color is not None:
        label.color = color
    label.full_clean()
    label.save()
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
