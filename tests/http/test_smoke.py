import hashlib


def test_full_get_delivers_the_file(pasla, sample):
    served = pasla(sample, 1)
    resp, body = served.request()
    assert resp.status == 200
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(sample.read_bytes()).hexdigest()
