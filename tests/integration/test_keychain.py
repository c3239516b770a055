"""The keychain: a real gnome-keyring on a private D-Bus session, and the
ways it can be missing, locked or hung."""
import time

import pytest

from keyring import Keyring
from tusk import Broker


def keyring_broker(mode, **kw):
    kr = Keyring(mode)
    b = Broker(env=dict(kr.env(), DISPLAY=None), **kw)
    return kr, b


@pytest.mark.parametrize("mode,available,words", [
    ("unlocked", True, "unlocked"),
    ("locked", False, "locked"),
    ("nosecrets", False, "no Secret Service"),
    ("nobus", False, "session bus"),
])
def test_availability(mode, available, words):
    kr, b = keyring_broker(mode)
    try:
        c = b.client()
        assert c.call("check_keychain_available") is available
        st = c.call("get_keychain_status")
        assert st["available"] is available and words in st["message"]
        if not available:
            assert st["hint"] and ("gnome-keyring" in st["hint"] or "unlock" in st["hint"])
    finally:
        b.stop()
        b.cleanup()
        kr.stop()


def test_hung_keychain_never_blocks_the_broker():
    kr, b = keyring_broker("hung", extra_args=["--set", "keychain_timeout_ms=2000"])
    try:
        c = b.client()
        other = b.client()
        t0 = time.time()
        mid = c.send("check_keychain_available")
        worst = 0.0
        while time.time() - t0 < 0.9:
            t = time.time()
            assert other.call("health_check")["status"] == "ok"
            worst = max(worst, time.time() - t)
        assert worst < 0.1, "health_check took %.3f s while the keychain hung" % worst
        assert c.wait_reply(mid) is False
        took = time.time() - t0
        assert took < 3.0
        st = c.call("get_keychain_status")
        assert st["available"] is False and "did not answer" in st["message"]
        # backing off: the next questions answer at once
        t = time.time()
        assert c.call("check_keychain_available") is False
        assert time.time() - t < 0.5
    finally:
        b.stop()
        b.cleanup()
        kr.stop()
