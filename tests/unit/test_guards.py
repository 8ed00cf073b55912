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


def test_caps_refuse_per_address_then_globally_when_every_connection_is_busy():
    guard, _ = make_guard()
    first, second, third = (connect(guard)[0] for _ in range(3))
    assert [type(c) is Refused for c in (first, second, third)] == [False, False, True]
    other, _ = connect(guard, "203.0.113.2")
    for busy in (first, second, other):
        busy.request_started()
    assert type(connect(guard, "203.0.113.3")[0]) is Refused  # global cap of 3, nobody to evict
    assert guard.open_total == 3 and guard.refused == 2 and guard.evicted == 0


def test_a_full_table_evicts_the_oldest_connection_without_a_request_head():
    guard, clock = make_guard(max_global=4, max_per_ip=4)
    silent, silent_transport = connect(guard, "203.0.113.1")
    clock.now += 1
    busy, busy_transport = connect(guard, "203.0.113.2")
    busy.request_started()  # older than the rest, but answering a request
    clock.now += 1
    headed, headed_transport = connect(guard, "203.0.113.3")
    headed.head_received()  # sending its body: it has a head
    clock.now += 1
    trickling, trickling_transport = connect(guard, "203.0.113.4")
    newcomer, _ = connect(guard, "203.0.113.5")
    assert type(newcomer) is not Refused
    assert silent_transport.aborted and guard.evicted == 1
    assert not (busy_transport.aborted or headed_transport.aborted or trickling_transport.aborted)
    assert guard.open_total == 4 and guard.open_by_ip.get("203.0.113.1") is None
    # The late report of the evicted connection's loss frees nothing twice.
    silent.connectionLost(None)
    assert guard.open_total == 4
    # Next in line: the trickling one, then the newcomers in turn; never the
    # connections that have sent their head.
    connect(guard, "203.0.113.6")
    assert trickling_transport.aborted
    for n in range(7, 20):
        assert type(connect(guard, f"203.0.113.{n}")[0]) is not Refused
    assert not (busy_transport.aborted or headed_transport.aborted)
    assert guard.open_total == 4 and guard.evicted == 15


def test_an_idle_keep_alive_connection_can_be_evicted():
    guard, clock = make_guard(max_global=2, max_per_ip=2)
    kept, kept_transport = connect(guard, "203.0.113.1")
    kept.request_started()
    clock.now += 1
    other, other_transport = connect(guard, "203.0.113.2")
    other.request_started()
    kept.request_finished()  # now idle: it waits for a head again
    assert type(connect(guard, "203.0.113.3")[0]) is not Refused
    assert kept_transport.aborted and not other_transport.aborted


def test_under_pressure_the_header_deadline_shrinks():
    guard, clock = make_guard(max_global=10, max_per_ip=10, header_timeout=10)
    early = [connect(guard, f"203.0.113.{n}") for n in range(7)]  # 70%: no pressure yet
    clock.now += 1
    # With the 8th the table is 80% full: it and the 9th get 2 s.
    late = [connect(guard, f"203.0.114.{n}") for n in range(2)]
    clock.now += 1
    guard.sweep()
    # Everyone without a head for 2 s goes, those let in before the pressure too.
    assert [t.aborted for _, t in early + late] == [True] * 7 + [False] * 2
    for protocol, _ in early:
        protocol.connectionLost(None)
    clock.now += 0.9
    guard.sweep()
    assert not any(t.aborted for _, t in late)
    clock.now += 0.1
    guard.sweep()
    assert all(t.aborted for _, t in late)
    for protocol, _ in late:
        protocol.connectionLost(None)
    # No pressure: a newcomer gets the full deadline again.
    _, relaxed = connect(guard)
    clock.now += 9.9
    guard.sweep()
    assert not relaxed.aborted


def test_ipv6_clients_are_counted_per_network():
    guard, _ = make_guard(max_global=10, max_per_ip=2)
    one, two = (connect(guard, f"2001:db8:1:2::{n}")[0] for n in (1, 2))
    assert type(connect(guard, "2001:db8:1:2:ffff::3")[0]) is Refused  # same /64
    assert type(connect(guard, "2001:db8:1:3::1")[0]) is not Refused  # the next /64
    assert guard.open_by_ip["2001:db8:1:2::/64"] == 2
    narrow, _ = make_guard(max_global=10, max_per_ip=1, ipv6_prefix=128)
    assert type(connect(narrow, "2001:db8::1")[0]) is not Refused
    assert type(connect(narrow, "2001:db8::2")[0]) is not Refused


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


def test_a_flood_from_a_few_addresses_evicts_itself_not_a_lone_newcomer():
    guard, clock = make_guard(max_global=10, max_per_ip=5)
    flood = [connect(guard, f"198.51.100.{n % 2}")[1] for n in range(9)]
    clock.now += 1
    lone, lone_transport = connect(guard, "203.0.113.1")  # the youngest of all
    for n in range(30):  # the flood keeps reconnecting
        clock.now += 0.01
        connect(guard, f"198.51.100.{n % 2}")
    assert not lone_transport.aborted
    assert all(t.aborted for t in flood)


def test_a_connection_we_already_answered_and_are_closing_can_be_evicted():
    guard, _ = make_guard(max_global=2, max_per_ip=2)
    refused, refused_transport = connect(guard, "203.0.113.1")
    refused.head_received()
    refused.closing()  # answered 413, lingering until the grace ends
    busy, busy_transport = connect(guard, "203.0.113.2")
    busy.request_started()
    assert type(connect(guard, "203.0.113.3")[0]) is not Refused
    assert refused_transport.aborted and not busy_transport.aborted
