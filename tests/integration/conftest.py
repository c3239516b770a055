"""Fixtures: one PostgreSQL cluster per test session (and one with TLS, made
when a test first asks for it), one broker per module."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))

from pgcluster import Cluster  # noqa: E402
from tlsca import TlsCA  # noqa: E402
from tusk import Broker  # noqa: E402


@pytest.fixture(scope="session")
def pg():
    c = Cluster()
    yield c
    c.stop()


@pytest.fixture(scope="session")
def tls_ca():
    ca = TlsCA()
    yield ca
    ca.cleanup()


@pytest.fixture(scope="session")
def tls_pg(tls_ca):
    """A cluster that admits only TLS, on 127.0.0.1 and 127.0.0.2 (the second
    address is not in the certificate); database certdb takes client
    certificates instead of passwords."""
    c = Cluster(tls=tls_ca, listen="127.0.0.1,127.0.0.2", hba=[
        "local all all scram-sha-256",
        "hostssl certdb tusk 127.0.0.0/8 cert",
        "hostssl all all 127.0.0.0/8 scram-sha-256",
        "hostssl all all ::1/128 scram-sha-256",
    ])
    c.psql("CREATE DATABASE certdb OWNER tusk")
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
