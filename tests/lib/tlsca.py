"""A throwaway certificate authority for Tusk's TLS tests (openssl).

In a temporary directory: `ca.crt`/`ca.key` (the test CA), `server.crt`/
`server.key` signed by it with the names localhost, 127.0.0.1 and ::1
(what tests/lib/pgcluster.py's Cluster(tls=...) installs), `wrong-ca.crt`
(a CA that signed nothing here), `client.crt`/`client.key` for the role
`tusk` (certificate authentication), and `client-enc.key`, the same key
encrypted with CLIENT_KEY_PASSPHRASE. EC P-256 keys: fast to make.
"""
import os
import shutil
import subprocess
import tempfile

CLIENT_KEY_PASSPHRASE = "tls-Secret-c4d8"


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class TlsCA:
    def __init__(self, client_cn="tusk"):
        self.dir = tempfile.mkdtemp(prefix="tca.", dir="/tmp")
        os.chmod(self.dir, 0o755)
        d = self.dir
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ("ca", "wrong-ca"):
            _openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=tusk-test-%s" % ca,
                     "-keyout", ca + ".key", "-out", ca + ".crt",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
        self._issue("server", "/CN=localhost",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
        self._issue("client", "/CN=%s" % client_cn,
                    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n")
        _openssl("pkey", "-in", "client.key", "-aes256", "-passout", "pass:" + CLIENT_KEY_PASSPHRASE,
                 "-out", "client-enc.key", cwd=d)
        for name in ("server.key", "client.key", "client-enc.key", "ca.key", "wrong-ca.key"):
            os.chmod(os.path.join(d, name), 0o600)  # libpq refuses a key others can read

    def _issue(self, name, subj, ext):
        d = self.dir
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-subj", subj, "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".crt", cwd=d)

    def path(self, name):
        return os.path.join(self.dir, name)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
