"""`pasla admin-user NAME`: a login for the admin pages, without Django's prompts."""

import getpass
import os
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from shares.cli.parser import CliError

MAX_USERNAME = 150


def _password() -> str:
    # From the environment for scripts; never from the command line, where
    # `ps` and the shell history would show it.
    password = os.environ.get("PASLA_ADMIN_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        raise CliError("set PASLA_ADMIN_PASSWORD, or run this on a terminal to be asked")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise CliError("the passwords differ")
    return first


def run(opts) -> int:
    name = opts.username.strip()
    if not name or len(name) > MAX_USERNAME or not name.isprintable():
        raise CliError(f"invalid user name {opts.username!r}")
    password = _password()
    users = get_user_model()
    user = users.objects.filter(username=name).first() or users(username=name)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise CliError(" ".join(exc.messages)) from None
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    print(
        f"admin user {name!r} ready: open http://127.0.0.1:PORT/{settings.PASLA_ADMIN_PATH} "
        "on the port of any running share (from this machine)"
    )
    return 0
