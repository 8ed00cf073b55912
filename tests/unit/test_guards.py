"""The connection guard's bookkeeping, driven by a fake clock (no sockets)."""

from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import StringTransport

from shares.server.guards import ConnectionGuard, Phase, Refused


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Transport(StringTransport):
    def __init__(self, host):
        super().__init__(peerAddress=IPv4Address("TCP", host, 40000))
        self.aborted = False

    def abortConnection(self):
        self.aborted = True


def make_guard(**limits):
    clock = Clock()
    settings = {"max_global": 3, "max_per_ip": 2, "header_timeout": 10, "idle_timeout": 30} | limits
    guard = ConnectionGuard(Factory.forProtocol(Protocol), clock=clock, **settings)
    return guard, clock


def connect(guard, host="203.0.113.1"):
    transport = Transport(host)
    protocol = guard.buildProtocol(transport.getPeer())
    protocol.makeConnection(transport)
    return protocol, transport


def test_caps_refuse_per_address_then_globally():
    guard, _ = make_guard()
    assert [type(connect(guard)[0]) is Refused for _ in range(3)] == [False, False, True]
    assert type(connect(guard, "203.0.113.2")[0]) is not Refused
    assert type(connect(guard, "203.0.113.3")[0]) is Refused  # global cap of 3
    assert guard.open_total == 3 and guard.refused == 2


def test_closing_frees_the_place():
    guard, _ = make_guard(max_per_ip=1)
    first, _ = connect(guard)
    assert type(connect(guard)[0]) is Refused
    first.connectionLost(None)
    guard.forget(first)  # a second report must not free a second place
    assert type(connect(guard)[0]) is not Refused
    assert guard.open_total == 1


def test_refused_connections_are_reset_unread():
    guard, _ = make_guard(max_per_ip=0)
    protocol, transport = connect(guard)
    assert transport.aborted and type(protocol) is Refused


def test_header_deadline_counts_from_accept_whatever_trickles_in():
    guard, clock = make_guard()
    protocol, transport = connect(guard)
    for _ in range(9):
        clock.now += 1
        protocol.dataReceived(b"X: y\r\n")
        guard.sweep()
    assert not transport.aborted
    clock.now += 1
    guard.sweep()
    assert transport.aborted


def test_busy_connections_have_no_deadline_and_idle_ones_close_politely():
    guard, clock = make_guard()
    protocol, transport = connect(guard)
    protocol.request_started()
    clock.now += 1000
    guard.sweep()
    assert not transport.aborted and not transport.disconnecting
    protocol.request_finished()
    clock.now += 29
    guard.sweep()
    assert not transport.disconnecting
    clock.now += 1
    guard.sweep()
    assert transport.disconnecting and not transport.aborted
    assert protocol.phase == Phase.CLOSING
    clock.now += 5
    guard.sweep()
    assert transport.aborted  # it did not go away: reset


def test_the_next_request_on_a_kept_alive_connection_gets_the_header_deadline():
    guard, clock = make_guard()
    protocol, transport = connect(guard)
    protocol.request_started()
    protocol.request_finished()
    clock.now += 5
    protocol.dataReceived(b"GET / HTTP/1.1\r\n")
    clock.now += 10
    guard.sweep()
    assert transport.aborted


def test_one_sweep_serves_every_connection():
    guard, clock = make_guard(max_global=1000, max_per_ip=1000)
    transports = [connect(guard, f"10.0.{n // 250}.{n % 250}")[1] for n in range(500)]
    clock.now += 9.9
    guard.sweep()
    assert not any(t.aborted for t in transports)
    clock.now += 0.1
    guard.sweep()
    assert all(t.aborted for t in transports) and guard.deadlines == {}
