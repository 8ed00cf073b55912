"""The TLS file sender's encryption step against a real client (stdlib ssl), in memory."""

import datetime as dt
import os
import ssl

import pytest
from OpenSSL import SSL

from shares.network.certificates import generate_ephemeral
from shares.server import tls


def connected_pair():
    """(pasla's server Connection, a stdlib client SSLObject with its incoming BIO), handshaken."""
    pair = generate_ephemeral(["127.0.0.1"], dt.timedelta(hours=1))
    server = SSL.Connection(tls.server_context(pair).context, None)
    server.set_accept_state()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing)
    client_done = server_done = False
    for _ in range(10):
        if not client_done:
            try:
                client.do_handshake()
                client_done = True
            except ssl.SSLWantReadError:
                pass
        server.bio_write(outgoing.read())
        try:
            server.do_handshake()
            server_done = True
        except SSL.WantReadError:
            pass
        for part in tls.drain(server):
            incoming.write(part)
        if client_done and server_done:
            break
    return server, client, incoming


def client_reads(client, incoming, parts) -> bytes:
    for part in parts:
        incoming.write(bytes(part))
    received = b""
    while True:
        try:
            received += client.read(1 << 20)
        except ssl.SSLWantReadError:
            return received


def test_one_write_encrypts_the_whole_buffer():
    server, _, _ = connected_pair()
    assert server.send(bytes(300_000)) == 300_000  # partial writes are off


@pytest.mark.parametrize("size", [1 << 20, 70_000, 1000], ids=["roomy", "overflows-mid-way", "tiny"])
@pytest.mark.parametrize("fast", [True, False], ids=["bio-read-into-buffer", "public-api"])
def test_the_client_reads_exactly_the_plaintext(size, fast):
    server, client, incoming = connected_pair()
    buffer = tls.CiphertextBuffer(size)
    if not fast:
        buffer._target = None
    data = os.urandom(300_000)
    parts = buffer.encrypt(server, memoryview(data))
    assert client_reads(client, incoming, parts) == data
    # The buffer is reused: a second piece must not be spoiled by the first.
    more = os.urandom(200_000)
    assert client_reads(client, incoming, buffer.encrypt(server, memoryview(more))) == more
