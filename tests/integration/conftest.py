"""Fixtures: one PostgreSQL cluster per test session, one broker per module."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))

from pgcluster import Cluster  # noqa: E402
from tusk import Broker  # noqa: E402


@pytest.fixture(scope="session")
def pg():
    c = Cluster()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def broker():
    b = Broker()
    yield b
    b.stop()
    b.cleanup()


@pytest.fixture
def client(broker):
    c = broker.client()
    yield c
    c.close()


@pytest.fixture
def conn(client, pg):
    """An open connection to the session cluster: (client, connection_id)."""
    r = client.call("connect", config=pg.config(), password="tuskpw")
    yield client, r["connection_id"]
    try:
        client.call("disconnect", connection_id=r["connection_id"])
    except Exception:
        pass
