"""Sign-in with failed attempts counted per username and per client address.

The login page, the admin's login and the API token route all authenticate through
`sign_in_authenticate`. Counters live in the default cache: the process's memory in embedded
mode (one process), Redis in production, where every web process shares them.
"""

import hashlib
import math
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from annotator.api_schema import ErrorOutput

ACCOUNT_LOCKED = "Too many failed sign-in attempts for this account; try again in {} s."
ADDRESS_LOCKED = "Too many failed sign-in attempts from this address; try again in {} s."
INVALID = "Unable to log in with provided credentials."


class SignInLocked(Exception):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass
class _Counter:
    """Attempts in a window that starts with the first one counted. The window's start is
    part of the count's key, so a count can never outlive its window, and a reset (deleting
    the start) opens a new window at once."""

    key: str
    limit: int
    message: str
    counted: str = ""

    def hit(self, window: int) -> None:
        """Count one attempt; raise SignInLocked when it is over the limit."""
        now = time.time()
        cache.add(self.key, now, timeout=window)
        start = cache.get(self.key, now)
        self.counted = f"{self.key}:{start!r}"
        cache.add(self.counted, 0, timeout=window)
        try:
            count = cache.incr(self.counted)
        except ValueError:  # expired between add and incr
            cache.set(self.counted, 1, timeout=window)
            count = 1
        if count > self.limit:
            retry_after = max(1, math.ceil(start + window - now))
            raise SignInLocked(self.message.format(retry_after), retry_after)

    def undo(self) -> None:
        try:
            cache.decr(self.counted)
        except ValueError:  # the window ended meanwhile
            pass

    def reset(self) -> None:
        cache.delete(self.key)


def _key(kind: str, value: str) -> str:
    return f"signin:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def sign_in_authenticate(request, *, username: str, password: str):
    """The user these credentials belong to, or None.

    An attempt is counted before the password is checked, so parallel requests cannot test
    more passwords than the limits allow, and a success takes its count back. Over a limit,
    SignInLocked is raised without checking the password: the right one is refused too.
    Unknown usernames are counted and answered exactly like real ones.
    """
    window = settings.ANNOTATOR_LOGIN_WINDOW_S
    # Case and Unicode form folded: variants of one name share one count.
    name = unicodedata.normalize("NFKC", username).casefold()
    account = _Counter(_key("user", name), settings.ANNOTATOR_LOGIN_ATTEMPTS, ACCOUNT_LOCKED)
    address = _Counter(
        _key("address", request.META.get("REMOTE_ADDR") or ""),
        settings.ANNOTATOR_LOGIN_ADDRESS_ATTEMPTS,
        ADDRESS_LOCKED,
    )
    account.hit(window)
    try:
        address.hit(window)
    except SignInLocked:
        # No password was tried for the account.
        account.undo()
        raise
    user = authenticate(request, username=username, password=password)
    if user is not None:
        account.reset()
        address.undo()
    return user


# --- Login page and admin login ----------------------------------------------------------


class SignInForm(AuthenticationForm):
    locked: SignInLocked | None = None

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = sign_in_authenticate(
                    self.request, username=username, password=password
                )
            except SignInLocked as locked:
                self.locked = locked
                raise ValidationError(locked.message, code="locked") from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class AdminSignInForm(SignInForm, AdminAuthenticationForm):
    pass


class SignInView(LoginView):
    form_class = SignInForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.locked.retry_after)
        return response


# --- API token -----------------------------------------------------------------------------


class SignInThrottled(exceptions.Throttled):
    def __init__(self, locked: SignInLocked):
        super().__init__(detail=locked.message)
        self.wait = locked.retry_after


class TokenInput(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class TokenApi(ObtainAuthToken):
    serializer_class = TokenInput

    @extend_schema(
        request=TokenInput,
        responses={
            200: inline_serializer("TokenOutput", {"token": serializers.CharField()}),
            400: OpenApiResponse(ErrorOutput, description="wrong username or password"),
            429: OpenApiResponse(
                ErrorOutput,
                description="too many failed attempts; Retry-After gives the seconds to wait",
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = sign_in_authenticate(request, **data.validated_data)
        except SignInLocked as locked:
            raise SignInThrottled(locked) from None
        if user is None:
            raise serializers.ValidationError({"non_field_errors": [INVALID]}, code="authorization")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
