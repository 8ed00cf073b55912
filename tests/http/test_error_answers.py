"""Every refusal is short: JSON for programs, a tiny page for browsers, no versions."""

import json

SOFTWARE = (b"daphne", b"django", b"twisted", b"python", b"traceback", b"asgi")


def raw_exchange(served, payload: bytes) -> bytes:
    sock = served.raw_socket()
    sock.sendall(payload)
    reply = b""
    try:
        while chunk := sock.recv(65536):
            reply += chunk
    except ConnectionResetError:
        pass
    sock.close()
    return reply


def test_refusals_name_no_software(pasla, sample):
    served = pasla(sample, 1, "--allow-ip", "127.0.0.1", env={"PASLA_RATE_LIMIT_MAX_REQUESTS": "3"})
    answers = []
    for headers in ({}, {"Accept": "text/html"}):
        resp, body = served.request("GET", "/nothing/here", headers=headers)
        answers.append((resp, body))
    resp, body = served.request("GET", "/nothing", source="127.0.0.2")  # outside the allowlist
    assert resp.status == 403 and json.loads(body)["error"] == "forbidden"
    answers.append((resp, body))
    resp, body = served.request("PATCH", "/x", body=b"x")
    assert resp.status == 405
    answers.append((resp, body))
    resp, body = served.request("GET", "/x")
    assert resp.status == 429
    answers.append((resp, body))
    for resp, body in answers:
        assert resp.getheader("Server") is None
        text = (str(resp.headers) + body.decode()).lower().encode()
        assert not any(word in text for word in SOFTWARE), text
        assert len(body) < 2048
    # Malformed at the HTTP layer: answered (or dropped) below Django, still anonymous.
    malformed = (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", b"GET /\xff HTTP/1.1\r\n\r\n")
    for payload in malformed:
        reply = raw_exchange(served, payload).lower()
        assert reply.startswith(b"http/1.1 400"), reply
        assert not any(word in reply for word in SOFTWARE), reply
        assert b"server:" not in reply
