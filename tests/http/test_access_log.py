"""One access line per request; never the token, never the file's path."""

import re

LINE = re.compile(
    r"INFO pasla\.access: (?P<client>\S+) (?P<method>\S+) (?P<target>\S+) (?P<status>\d{3}) (?P<bytes>\d+)B "
)


def access_lines(served) -> list[dict]:
    return [m.groupdict() for m in LINE.finditer(served.stderr())]


def test_one_line_per_request_without_the_token(pasla, sample):
    served = pasla(sample, 1, env={"PASLA_BAN_THRESHOLD": "2"})
    share = served.info["id"]
    wrong = f"/{served.token[:-1]}X/sample.bin"  # one character off the real token
    served.request("GET")
    served.request("HEAD")
    served.request("GET", "/favicon.ico")
    served.request("GET", wrong)
    served.request("GET", wrong)  # earns a ban
    served.request("GET", headers={"Range": "bytes=0-9"})  # now 403
    served.request("PUT", body=b"x", source="127.0.0.2")  # POST is the landing button
    served.request("GET", f"/{served.token}/sample.bin%0d%0aforged:%20yes")
    served.wait_until(lambda: len(access_lines(served)) == 8)
    lines = access_lines(served)
    by_target = [(line["method"], line["status"], line["bytes"]) for line in lines]
    size = str(sample.stat().st_size)
    assert by_target[:2] == [("GET", "200", size), ("HEAD", "200", "0")]
    assert lines[0]["target"] == f"share:{share}"
    assert lines[2]["target"].startswith("path#")
    assert lines[3]["target"] == lines[4]["target"] != lines[2]["target"]  # a digest, stable
    assert (lines[5]["status"], lines[5]["client"]) == ("403", "127.0.0.1")
    assert (lines[6]["method"], lines[6]["status"], lines[6]["client"]) == ("PUT", "405", "127.0.0.2")
    log = served.stderr()
    assert served.token not in log
    assert served.token[:-1] not in log  # not even most of it
    assert str(sample) not in log
    assert "forged" not in log
    assert "banned 127.0.0.1 after 2 wrong guesses" in log
