"""The loopback gateway checked on its own against a fake device, so a
fault in the test gateway is not mistaken for one in the daemon."""
import os
import subprocess

SELFTEST = os.path.join(os.path.dirname(__file__), "..", "gateway",
                        "selftest.py")


def test_gateway_selftest():
    r = subprocess.run(["/usr/bin/python3", SELFTEST], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert r.stdout.rstrip().endswith(" 0 failed"), r.stdout[-2000:]
