"""
Command line: -V, -t, -K, and keys in the formats the original agent
leaves behind.
"""

import base64
import hashlib
import os
import re
import stat
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import gateway as G


def run(binary, *args, timeout=30):
    return subprocess.run([binary] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def test_version(portacoded_bin):
    r = run(portacoded_bin, "-V")
    assert r.returncode == 0, r
    assert re.search(r"\d+\.\d+", r.stdout + r.stderr), r


def test_config_check_ok(portacoded_bin, device_key, workdir):
    conf = G.write_config(os.path.join(workdir, "ok.conf"),
                          "wss://localhost:4443/gateway", device_key.keyfile,
                          None, G.TARGET_USER)
    r = run(portacoded_bin, "-t", "-f", conf)
    assert r.returncode == 0, r


@pytest.mark.parametrize("bad_line", [
    "NoSuchKeyword yes",
    "Gateway http://localhost/gateway",
    "LogLevel LOUD",
    "Gateway",
])
def test_config_check_error_names_line(portacoded_bin, device_key, workdir,
                                       bad_line):
    path = os.path.join(workdir, "bad.conf")
    with open(path, "w") as f:
        f.write("# comment\nKeyFile %s\n%s\nUser %s\n"
                % (device_key.keyfile, bad_line, G.TARGET_USER))
    r = run(portacoded_bin, "-t", "-f", path)
    assert r.returncode == 1, r
    out = r.stdout + r.stderr
    assert re.search(r"line 3\b|:3:", out), out


def _fingerprints(der, pem):
    digest = hashlib.sha256(der).digest()
    hx = digest.hex()
    b64 = base64.b64encode(digest).decode()
    return [hx, hx.upper(), ":".join(hx[i:i + 2] for i in range(0, 64, 2)),
            ":".join(hx[i:i + 2] for i in range(0, 64, 2)).upper(),
            b64, b64.rstrip("="), hashlib.sha256(pem).hexdigest()[:16]]


def test_keygen(device_key):
    st = os.stat(device_key.keyfile)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600
    d = os.stat(os.path.dirname(device_key.keyfile))
    assert stat.S_IMODE(d.st_mode) == 0o700
    with open(device_key.pub, "rb") as f:
        pem = f.read()
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    pub = serialization.load_pem_public_key(pem)
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 3072
    with open(device_key.keyfile, "rb") as f:
        priv = serialization.load_pem_private_key(f.read(), None)
    assert priv.public_key().public_numbers() == pub.public_numbers()
    der = G.spki_der(pub)
    assert base64.b64encode(der).decode() in device_key.stdout, \
        "base64 DER public key not printed: %r" % device_key.stdout
    assert any(fp in device_key.stdout for fp in _fingerprints(der, pem)), \
        "no SHA-256 fingerprint in %r" % device_key.stdout


def test_keygen_keeps_existing_key(portacoded_bin, workdir):
    keydir = G.make_key_dir(os.path.join(workdir, "keys"))
    keyfile = os.path.join(keydir, "id_portacode")
    conf = G.write_config(os.path.join(workdir, "k.conf"),
                          "wss://localhost:4443/gateway", keyfile, None,
                          G.TARGET_USER)
    r1 = G.create_key(portacoded_bin, conf)
    assert r1.returncode == 0, r1
    with open(keyfile, "rb") as f:
        first = f.read()
    r2 = G.create_key(portacoded_bin, conf)
    with open(keyfile, "rb") as f:
        assert f.read() == first, "-K replaced an existing key"
    if r2.returncode == 0:
        der = G.spki_der(keyfile + ".pub")
        assert base64.b64encode(der).decode() in r2.stdout


@pytest.mark.parametrize("fmt,bits", [
    (serialization.PrivateFormat.TraditionalOpenSSL, 1024),
    (serialization.PrivateFormat.PKCS8, 2048),
], ids=["pkcs1_1024_upstream", "pkcs8_2048"])
def test_existing_key_formats(gateway, workdir, start_daemon, fmt, bits):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    keydir = G.make_key_dir(os.path.join(workdir, "keys"))
    keyfile = os.path.join(keydir, "id_portacode")
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, fmt,
                                  serialization.NoEncryption()))
    gateway.unregister_keys()
    gateway.register_key(key.public_key())
    conf = G.write_config(os.path.join(workdir, "portacoded.conf"),
                          gateway.url, keyfile, gateway.ca_path,
                          G.TARGET_USER)
    start_daemon(conf)
    gateway.wait_device(20)
    s = gateway.add_session("dashboard")
    s.request({"cmd": "system_info"}, 10, event="system_info")
