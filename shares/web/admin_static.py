"""The admin's CSS, JavaScript and images, served from Django's own package.

daphne serves no static files. Only regular files under
django/contrib/admin/static are reachable (safe_join refuses anything that
climbs out, symlinks included after resolving), and only through the admin
gate, since the URL lies under the admin path. The files are small, so
they are read whole instead of streamed.
"""

import mimetypes
from pathlib import Path

import django.contrib.admin
from django.core.exceptions import SuspiciousFileOperation
from django.http import Http404, HttpResponse
from django.utils._os import safe_join

ROOT = Path(django.contrib.admin.__file__).resolve().parent / "static"
MAX_SIZE = 4 << 20  # the largest admin asset is a few hundred KiB


def serve(request, name: str):
    if request.method not in ("GET", "HEAD"):
        raise Http404
    try:
        path = Path(safe_join(str(ROOT), name)).resolve()
        path.relative_to(ROOT)
        if not path.is_file() or path.stat().st_size > MAX_SIZE:
            raise Http404
        body = path.read_bytes()
    except (SuspiciousFileOperation, ValueError, OSError):
        raise Http404 from None
    content_type, _ = mimetypes.guess_type(path.name)
    response = HttpResponse(body, content_type=content_type or "application/octet-stream")
    # Versioned by the Django release; an hour avoids refetching on every page.
    response["Cache-Control"] = "private, max-age=3600"
    return response
