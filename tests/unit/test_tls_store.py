import os
import stat

import pytest

from shares.network import tls_store


def test_create_makes_private_directories(tmp_path):
    path = tls_store.create(tmp_path, "a1b2c3")
    assert path == tmp_path / "tls" / "a1b2c3"
    for directory in (path, path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


@pytest.mark.parametrize("bad", ["../etc", "a1b2c3/x", "", "A1B2C3", "zzzzzz"])
def test_create_only_takes_share_ids(tmp_path, bad):
    with pytest.raises(ValueError):
        tls_store.create(tmp_path, bad)


def test_create_refuses_an_existing_directory(tmp_path):
    tls_store.create(tmp_path, "a1b2c3")
    with pytest.raises(FileExistsError):
        tls_store.create(tmp_path, "a1b2c3")


def test_reap_removes_only_what_the_predicate_names(tmp_path):
    for share_id in ("aaaaaa", "bbbbbb", "cccccc"):
        (tls_store.create(tmp_path, share_id) / "key.pem").write_text("k")
    (tmp_path / "tls" / "notes.txt").write_text("operator's file")
    (tmp_path / "tls" / "README").mkdir()
    removed = tls_store.reap(tmp_path, lambda share_id: share_id != "bbbbbb")
    assert removed == ["aaaaaa", "cccccc"]
    assert sorted(os.listdir(tmp_path / "tls")) == ["README", "bbbbbb", "notes.txt"]


def test_reap_without_a_tls_directory_is_a_no_op(tmp_path):
    assert tls_store.reap(tmp_path, lambda _: True) == []


def test_remove_tolerates_missing_and_none(tmp_path):
    tls_store.remove(None)
    tls_store.remove(tmp_path / "gone")
