"""A username/password login for the web UI (Locust's web_ui_auth example), for ``--load-web-login``.

``web_ui.auth_args["username_password_callback"]`` is where the login page's form posts;
the route there checks the password and logs the user in with Flask-Login, and
``web_ui.login_manager.user_loader`` turns the session cookie back into that user on
every later request. Without a login, pages redirect to ``/login`` and JSON endpoints
answer 401.

The one account is ``WEB_UI_USER`` (default ``admin``) with the password in
``WEB_UI_PASSWORD``; with no password set, nobody can log in. A real project would check
its own user store or single sign-on here.
"""

import hmac
import os

from flask import Blueprint, redirect, request, session, url_for
from flask_login import UserMixin, login_user

from pytest_loadhooks import events
from pytest_loadhooks.web.views import cross_origin


class Account(UserMixin):
    def __init__(self, username: str) -> None:
        self.id = username


def known_account(username: str):
    """The user_loader: the account a session cookie names, or None (logged out)."""
    return Account(username) if username == os.environ.get("WEB_UI_USER", "admin") else None


def password_matches(username: str, password: str) -> bool:
    expected = os.environ.get("WEB_UI_PASSWORD", "")
    # compare_digest: the time taken does not tell how much of the password was right.
    return bool(expected) and known_account(username) is not None and hmac.compare_digest(password, expected)


@events.init.add_listener
def set_up_login(environment, web_ui, **kwargs):
    if web_ui is None:
        return
    web_ui.login_manager.user_loader(known_account)
    web_ui.auth_args = {"username_password_callback": "/login_submit"}
    blueprint = Blueprint("example_login", __name__)

    @blueprint.route("/login_submit", methods=["POST"])
    def login_submit():
        refused = cross_origin()  # another site's page must not log this browser in
        if refused is not None:
            return refused
        username = request.form.get("username", "")
        if password_matches(username, request.form.get("password", "")):
            login_user(Account(username))
            return redirect(url_for("locust.index"))
        session["auth_error"] = "Wrong username or password"  # shown by the login page
        return redirect(url_for("locust.login"))

    web_ui.app.register_blueprint(blueprint)
