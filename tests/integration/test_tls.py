"""
TLS: the daemon only talks to a gateway whose certificate chains to its
CAFile and names the host it dialled.
"""

import os
import re
import time

import pytest

import gateway as G

WATCH = 5.0


def _refused(gateway, daemon):
    time.sleep(WATCH)
    assert daemon.running()
    assert gateway.connections == 0, \
        "a WebSocket was opened over an unverified TLS connection"
    assert gateway.auth_attempts == 0
    assert re.search(r"certificate|verif", daemon.log_text(), re.I), \
        "the TLS failure is not logged"


def test_untrusted_ca_refused(gateway, workdir, device_key, start_daemon):
    other_ca, _, _ = G.make_certificates(os.path.join(workdir, "other-ca"))
    conf = G.write_config(os.path.join(workdir, "portacoded.conf"),
                          gateway.url, device_key.keyfile, other_ca,
                          G.TARGET_USER)
    _refused(gateway, start_daemon(conf))


@pytest.mark.gateway(cert_names=("gateway.invalid",))
def test_hostname_mismatch_refused(gateway, daemon):
    _refused(gateway, daemon)
