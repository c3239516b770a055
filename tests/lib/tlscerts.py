"""A throwaway certificate authority and a server certificate for
localhost, 127.0.0.1 and ::1 (openssl CLI), for TLS clusters in tests.

    tls = TLSFiles()      # tls.dir holds ca.crt, server.crt, server.key
    Cluster(tls=tls)      # the server presents server.crt
    tls.cleanup()
"""
import os
import shutil
import subprocess
import tempfile


class TLSFiles:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ttls.", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.ca = os.path.join(self.dir, "ca.crt")

        def run(*args):
            subprocess.run(["openssl"] + list(args), cwd=self.dir, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=tusk-test-ca",
            "-keyout", "ca.key", "-out", "ca.crt", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
            "-out", "server.csr")
        with open(os.path.join(self.dir, "server.ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "server.ext", "-out", "server.crt")
        os.chmod(self.ca, 0o644)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
