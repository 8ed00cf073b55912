"""`pasla client-cert NAME`: a client certificate for shares served with --client-ca."""

import sys
from pathlib import Path

from django.conf import settings

from shares.cli.parser import CliError
from shares.network import client_certs


def run(opts) -> int:
    try:
        days = int(opts.days)
    except ValueError:
        raise CliError(f"--days takes a whole number of days, got {opts.days!r}") from None
    out = Path(opts.out)
    if not out.is_dir():
        raise CliError(f"--out {out}: not a directory")
    try:
        issued = client_certs.issue(Path(settings.DATA_DIR), opts.name, out, days)
    except (ValueError, FileExistsError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write the client certificate: {exc.strerror}") from None
    sys.stdout.write(
        f"certificate   {issued.cert_path}\n"
        f"key           {issued.key_path}\n"
        f"PKCS#12       {issued.p12_path}\n"
        f"password      {issued.password}   (for the .p12 only; shown once, not stored)\n"
        f"SHA-256       {issued.fingerprint}\n"
        f"serve with    --client-ca {issued.ca_path}   or   --client-cert-sha256 {issued.fingerprint}\n"
        f"curl          curl --cert {issued.cert_path} --key {issued.key_path} URL\n"
    )
    return 0
