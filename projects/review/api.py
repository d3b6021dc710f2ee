"""REST for the review stage and comments: accept, reject, reopen, the review queue, an
image's comments and issues."""

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api_schema import ApiSchema, ErrorOutput
from annotator.ids import query_id
from projects import access
from projects.models import Comment
from projects.review import selectors, services
from projects.review.serializers import (
    AcceptInput,
    CommentInput,
    CommentOutput,
    CommentsOutput,
    DecisionOutput,
    QueueOutput,
    RejectInput,
    ResolveInput,
)
from projects.workflow.submission import open_issues


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _decision(image, review) -> Response:
    following = selectors.review_next(project=image.project, skip_id=image.pk)
    body = {
        "image": image,
        "review": review,
        "next": following.pk if following else None,
        "queue": selectors.review_count(image.project),
    }
    return Response(DecisionOutput(body).data)


class ReviewSchema(ApiSchema):
    def error_answers(self, operation):
        answers = super().error_answers(operation)
        if self.method != "GET":
            answers.append(
                ("409", ErrorOutput, "The image is not in a state that allows this; see why.")
            )
        return answers


class AcceptApi(APIView):
    schema = ReviewSchema()

    @extend_schema(request=AcceptInput, responses=DecisionOutput)
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="review")
        data = _valid(AcceptInput, request)
        review = services.image_accept(image=image, user=request.user, comment=data["comment"])
        image.refresh_from_db()
        return _decision(image, review)


class RejectApi(APIView):
    schema = ReviewSchema()

    @extend_schema(request=RejectInput, responses=DecisionOutput)
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="review")
        data = _valid(RejectInput, request)
        issues = [services.IssueInput(**issue) for issue in data["issues"]]
        review = services.image_reject(
            image=image, user=request.user, comment=data["comment"], issues=issues
        )
        image.refresh_from_db()
        return _decision(image, review)


class ReopenApi(APIView):
    schema = ReviewSchema()

    @extend_schema(request=None, responses=DecisionOutput)
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="own")
        image = services.image_reopen(image=image, user=request.user)
        return _decision(image, None)


class ReviewQueueApi(APIView):
    schema = ReviewSchema()

    @extend_schema(
        parameters=[OpenApiParameter("from", OpenApiTypes.INT, description="skip this image")],
        responses=QueueOutput,
    )
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="review")
        following = selectors.review_next(
            project=project, skip_id=query_id(request.query_params, "from")
        )
        body = {"next": following.pk if following else None}
        return Response(QueueOutput({**body, "queue": selectors.review_count(project)}).data)


class CommentsApi(APIView):
    schema = ReviewSchema()

    @extend_schema(responses=CommentsOutput)
    def get(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id)
        submitter = image.submitted_by
        body = {
            "review_state": image.review_state,
            "submitted_by": submitter.username if submitter else None,
            "latest_review": selectors.latest_review(image),
            "open_issues": open_issues(image.pk).count(),
            "threads": selectors.image_threads(image),
        }
        return Response(CommentsOutput(body).data)

    @extend_schema(request=CommentInput, responses={201: CommentOutput})
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="comment")
        data = _valid(CommentInput, request)
        parent = None
        if data.get("parent") is not None:
            parent = Comment.objects.filter(pk=data["parent"], image_id=image.pk).first()
            if parent is None:
                raise ValidationError({"parent": "There is no such comment on this image."})
        comment = services.comment_add(
            image=image,
            user=request.user,
            body=data["body"],
            parent=parent,
            object_id=data.get("object_id"),
            is_issue=data["is_issue"],
            point=data.get("point"),
        )
        return Response(CommentOutput(comment).data, status=status.HTTP_201_CREATED)


class ResolveApi(APIView):
    schema = ReviewSchema()

    @extend_schema(request=ResolveInput, responses=CommentOutput)
    def post(self, request, comment_id: int):
        comment = _comment_for_user(request.user, comment_id)
        data = _valid(ResolveInput, request)
        comment = services.issue_resolve(
            comment=comment, user=request.user, resolved=data["resolved"]
        )
        return Response(CommentOutput(comment).data)


def _comment_for_user(user, comment_id) -> Comment:
    comment = Comment.objects.select_related("image").filter(pk=comment_id).first()
    if comment is None:
        raise Http404("No such comment.")
    access.image_for_user(user, comment.image_id, need="comment")
    return comment
