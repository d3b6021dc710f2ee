"""Reads on projects, members, labels, sources and images."""

from django.db.models import Count, OuterRef, QuerySet, Subquery

from projects.models import Image, Job, Label, Membership, Project, Role, Source


def projects_for_user(user) -> QuerySet[Project]:
    """The projects a user can see, each annotated with `role` and `image_count`."""
    projects = Project.objects.all()
    if not user.is_superuser:
        projects = projects.filter(memberships__user=user)
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return projects.annotate(role=Subquery(role), image_count=Count("images")).order_by("name")


def project_role(project: Project, user) -> str:
    if user.is_superuser:
        return Role.OWNER
    return Membership.objects.get(project=project, user=user).role


def project_members(project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("user__username")


def project_labels(project: Project) -> QuerySet[Label]:
    return project.labels.all()


def project_sources(project: Project, *, include_removed: bool = False) -> QuerySet[Source]:
    sources = project.sources.annotate(image_count=Count("images"))
    if not include_removed:
        sources = sources.filter(removed_at__isnull=True)
    return sources.order_by("id")


def pool_images(project: Project, *, include_removed: bool = False) -> QuerySet[Image]:
    images = Image.objects.filter(project=project).select_related("source")
    if not include_removed:
        images = images.filter(removed_at__isnull=True, source__removed_at__isnull=True)
    return images.order_by("id")


def image_source_path(image: Image) -> str:
    """The image's path inside its source, the same on every server: an upload's stored path
    without its project's folder (`<hash>/<file name>`), else the name it is shown by."""
    if image.source.kind == Source.Kind.UPLOAD:
        head, _, rest = image.path.partition("/")
        return rest if head.isdigit() and rest else image.path
    return image.display_name


def project_jobs(project: Project) -> QuerySet[Job]:
    return Job.objects.filter(project=project).order_by("-created_at")
