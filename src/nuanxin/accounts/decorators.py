"""Page guards for staff: logged in as staff, and second factor done when the role needs it."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse

from nuanxin.accounts.selectors import staff_profile_of

SESSION_TOTP_OK = "nuanxin_totp_ok"


def staff_required(view):
    """Staff (or superuser) only; administrators must have passed TOTP in this session."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated or (staff_profile_of(user) is None
                                          and not user.is_superuser):
            return redirect_to_login(request.get_full_path(), "accounts:staff_login")
        from nuanxin.accounts.services import staff_requires_totp

        if staff_requires_totp(user) and not request.session.get(SESSION_TOTP_OK):
            target = reverse("accounts:staff_totp")
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapper


def staff_gate(request):
    """`staff_required` as a check: the redirect to log in or pass TOTP, or None."""
    return staff_required(lambda request: None)(request)


def second_factor_pending(request) -> bool:
    """True for a logged-in administrator who has not yet passed TOTP in this session.

    Pages use `staff_required`; JSON endpoints that give staff personal data call this and
    refuse (the half-logged-in state must not reach data through the API either)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    # Cheap answers first: this runs on every request (SecondFactorMiddleware).
    if request.session.get(SESSION_TOTP_OK) or (user.kind == "worker" and not user.is_superuser):
        return False
    from nuanxin.accounts.services import staff_requires_totp

    return staff_requires_totp(user) and not request.session.get(SESSION_TOTP_OK)
