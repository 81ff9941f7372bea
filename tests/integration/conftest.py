"""
Integration harness: the real portacoded (as root, full privsep) against
the loopback gateway in tests/gateway/gateway.py.

Environment:
  PORTACODED_BIN           the built portacoded binary (required)
  PORTACODED_TEST_USER     target User (default pctest; created if missing)
  PORTACODED_PRIVSEP_USER  privsep user (default _portacode; created if missing)
  PORTACODED_PRIVSEP_PATH  net's chroot (default /run/portacoded/empty)
  PORTACODED_KEEP=1        keep the temporary directory even when all pass

Every test gets its own directory (config, gateway CA, daemon log).  On a
failure the daemon's stderr and the gateway's recent history are added to
the report.
"""

import os
import re
import shutil
import sys
import tempfile
from collections import namedtuple

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gateway"))

import gateway as G  # noqa: E402

TARGET_USER = G.TARGET_USER
PRIVSEP_USER = G.PRIVSEP_USER
PRIVSEP_PATH = G.PRIVSEP_PATH
WORKER_ROLES = ("net", "term", "fs", "git")
AUTH_TIMEOUT = 20.0

DeviceKey = namedtuple("DeviceKey", "keyfile pub conf stdout stderr")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: takes tens of seconds (still run by default)")
    config.addinivalue_line(
        "markers", "gateway(**kw): Gateway() options for the gateway fixture "
        "(tls=True, cert_names=...)")
    config.addinivalue_line(
        "markers", "daemon_conf(*lines): extra config lines for the daemon")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    daemon = getattr(item, "_pc_daemon", None)
    gw = getattr(item, "_pc_gateway", None)
    done = getattr(item, "_pc_reported", set())
    if daemon is not None and "daemon" not in done:
        rep.sections.append(("portacoded stderr (%s)" % daemon.log_path,
                             daemon.log_text(300)))
        done.add("daemon")
    if gw is not None and "gateway" not in done:
        rep.sections.append(("loopback gateway", gw.describe(120)))
        done.add("gateway")
    item._pc_reported = done


@pytest.fixture(scope="session")
def portacoded_bin():
    path = os.environ.get("PORTACODED_BIN")
    if not path:
        pytest.exit("PORTACODED_BIN is not set: point it at the built "
                    "portacoded binary, e.g. "
                    "PORTACODED_BIN=$PWD/portacoded", returncode=2)
    path = os.path.abspath(path)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.exit("PORTACODED_BIN=%s is not an executable file" % path,
                    returncode=2)
    if os.geteuid() != 0:
        pytest.exit("the integration tests run portacoded with full "
                    "privilege separation and need root", returncode=2)
    return path


@pytest.fixture(scope="session")
def users(portacoded_bin):
    G.ensure_users(TARGET_USER, PRIVSEP_USER)
    return TARGET_USER, PRIVSEP_USER


@pytest.fixture(scope="session")
def base_dir(request):
    d = tempfile.mkdtemp(prefix="portacoded-it-")
    os.chmod(d, 0o755)
    yield d
    if request.session.testsfailed == 0 and not os.environ.get(
            "PORTACODED_KEEP"):
        shutil.rmtree(d, ignore_errors=True)
    else:
        sys.stderr.write("\nintegration test files kept in %s\n" % d)


@pytest.fixture(scope="session")
def device_key(portacoded_bin, users, base_dir):
    """One device key for the whole run, made by portacoded -K."""
    keydir = G.make_key_dir(os.path.join(base_dir, "keys"))
    keyfile = os.path.join(keydir, "id_portacode")
    conf = G.write_config(os.path.join(base_dir, "keygen.conf"),
                          "wss://localhost:1/gateway", keyfile, None,
                          TARGET_USER)
    r = G.create_key(portacoded_bin, conf)
    if r.returncode != 0 or not os.path.exists(keyfile + ".pub"):
        pytest.fail("portacoded -K -f %s failed (status %d)\nstdout:\n%s\n"
                    "stderr:\n%s" % (conf, r.returncode, r.stdout, r.stderr))
    return DeviceKey(keyfile, keyfile + ".pub", conf, r.stdout, r.stderr)


@pytest.fixture
def workdir(request, base_dir):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]
    d = tempfile.mkdtemp(prefix=name + "-", dir=base_dir)
    os.chmod(d, 0o755)
    return d


@pytest.fixture
def gateway(request, workdir, device_key):
    m = request.node.get_closest_marker("gateway")
    opts = {"tls": True}
    opts.update(m.kwargs if m else {})
    gw = G.Gateway(tmpdir=os.path.join(workdir, "gateway"), **opts)
    gw.start()
    gw.register_key(device_key.pub)
    request.node._pc_gateway = gw
    yield gw
    gw.stop()


def daemon_config(workdir, gw, device_key, extra=()):
    return G.write_config(os.path.join(workdir, "portacoded.conf"), gw.url,
                          device_key.keyfile, gw.ca_path, TARGET_USER,
                          "DEBUG", extra)


def _stop_daemon(d):
    """SIGTERM; problems found (exited early, processes left) as text."""
    problems = []
    if not d.stopped and not d.running():
        problems.append("portacoded exited during the test with status %s"
                        % d.proc.returncode)
    took, left = d.stop(2.0)
    if left:
        problems.append("still alive %.1fs after SIGTERM: %s" % (took, left))
        d.kill()
    d.close_log()
    return problems


@pytest.fixture
def start_daemon(request, workdir, portacoded_bin):
    """start_daemon(conf, name="portacoded") -> running Daemon; each one
    is stopped at teardown and must be gone within 2 s of SIGTERM."""
    started = []

    def start(conf, name="portacoded", args=("-d",)):
        d = G.Daemon(portacoded_bin, conf,
                     os.path.join(workdir, name + ".log"), args)
        d.start()
        started.append(d)
        request.node._pc_daemon = d
        return d

    yield start
    problems = []
    for d in started:
        problems.extend(_stop_daemon(d))
    if problems:
        pytest.fail("; ".join(problems))


@pytest.fixture
def launch(request, gateway, workdir, device_key, start_daemon):
    """launch() starts portacoded -d against the gateway fixture; for tests
    that set the gateway up before the daemon may connect."""
    m = request.node.get_closest_marker("daemon_conf")
    extra = list(m.args) if m else []

    def go():
        return start_daemon(daemon_config(workdir, gateway, device_key,
                                          extra))
    return go


@pytest.fixture
def daemon(launch):
    """portacoded -d -f CONF against the gateway fixture."""
    return launch()


@pytest.fixture
def online(daemon, gateway):
    """The daemon, authenticated with the gateway."""
    gateway.wait_device(AUTH_TIMEOUT)
    return daemon


@pytest.fixture
def dashboard(online, gateway):
    """A dashboard session the device knows about."""
    s = gateway.add_session("dashboard")
    return s
