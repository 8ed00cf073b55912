"""SEND_LIMIT must reach the socket's transport through TLS and guard wrappers,
and the HTTP side must be connected before the TLS handshake."""

import datetime

import pytest
from twisted.internet.abstract import FileDescriptor
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.protocols.tls import TLSMemoryBIOFactory

from shares.network.certificates import generate_ephemeral
from shares.server.guards import innermost_transport
from shares.server.tls import server_context

SERVER_TLS = server_context(generate_ephemeral([], datetime.timedelta(minutes=1)))


def wrapped(inner, layers: list[str]):
    """Stack wrappers over `inner` innermost first, as PaslaServer does."""
    transport = inner
    for layer in layers:
        if layer == "tls":
            factory = TLSMemoryBIOFactory(SERVER_TLS, False, Factory.forProtocol(Protocol), clock=Clock())
            wrapper = factory.protocol(factory, Protocol())
        else:
            wrapper = ProtocolWrapper(WrappingFactory(Factory.forProtocol(Protocol)), Protocol())
        wrapper.transport = transport
        transport = wrapper
    return transport


@pytest.mark.parametrize("layers", [[], ["guard"], ["tls"], ["tls", "guard"], ["guard", "tls", "guard"]])
def test_finds_the_innermost_transport(layers):
    socket_side = FileDescriptor(reactor=Clock())
    outer = wrapped(socket_side, layers)
    assert innermost_transport(outer) is socket_side


def test_nothing_to_find():
    assert innermost_transport(None) is None


def test_setting_the_limit_on_a_wrapper_alone_would_not_reach_the_socket():
    # Why the walk exists: wrappers proxy reads, so hasattr() is true on them.
    socket_side = FileDescriptor(reactor=Clock())
    outer = wrapped(socket_side, ["tls"])
    assert hasattr(outer, "SEND_LIMIT")
    outer.SEND_LIMIT = 1 << 20
    assert socket_side.SEND_LIMIT != 1 << 20
    innermost_transport(outer).SEND_LIMIT = 1 << 20
    assert socket_side.SEND_LIMIT == 1 << 20


def test_the_http_protocol_is_connected_before_any_handshake_byte():
    # Guards the header deadline's assumption: a timer started when the
    # HTTP side connects (or by a wrapper outside TLS) already runs while
    # the client has not even sent its ClientHello.
    from twisted.internet.testing import StringTransport

    connected = []

    class Recorder(Protocol):
        def connectionMade(self):
            connected.append(self.transport)

    factory = TLSMemoryBIOFactory(SERVER_TLS, False, Factory.forProtocol(Recorder), clock=Clock())
    tls = factory.buildProtocol(None)
    tls.makeConnection(StringTransport())
    assert connected == [tls]
