"""The local cluster accepts only this run's processes and serves no HTTP (issue 14, finding 8).

Servers bind 127.0.0.1 only; nothing here reaches another host.
"""
from __future__ import annotations

import socket
import ssl
import urllib.request

import psutil
import pytest
from distributed import Client
from distributed.security import Security

from neurorad.batch.cluster import SecureLocalCluster


def _listening_ports() -> set[tuple[str, int]]:
    """(host, port) of every TCP socket this process and its children listen on."""
    processes = [psutil.Process(), *psutil.Process().children(recursive=True)]
    found = set()
    for proc in processes:
        try:
            conns = proc.net_connections(kind="tcp")
        except psutil.Error:
            continue
        found |= {(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN}
    return found


def _http_answers(host: str, port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://{host}:{port}/info", timeout=3)
    except urllib.error.HTTPError:
        return True  # an HTTP server answered, even if with an error status
    except (OSError, ValueError):
        return False
    return True


@pytest.fixture(scope="module")
def cluster():
    before = _listening_ports()
    with SecureLocalCluster(n_workers=1, threads_per_worker=1) as cluster:
        yield cluster, _listening_ports() - before


def test_cluster_runs_our_tasks_over_tls(cluster):
    cluster, _ = cluster
    assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
    with Client(cluster) as client:
        assert client.submit(sum, [1, 2, 3]).result() == 6


def test_connecting_without_credentials_is_refused(cluster):
    cluster, _ = cluster
    host, port = cluster.scheduler_address.split("//", 1)[1].rsplit(":", 1)
    # Plain TCP: the scheduler speaks only TLS.
    with pytest.raises(OSError):
        Client(f"tcp://{host}:{port}", timeout=3)
    # TLS without a client certificate: the handshake is refused.
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            with context.wrap_socket(raw) as tls:
                tls.sendall(b"\0" * 8)
                tls.recv(1)
    # TLS with a certificate of another authority (another run, another user): refused.
    with pytest.raises(OSError):
        Client(cluster.scheduler_address, security=Security.temporary(), timeout=3)


def test_no_http_endpoint_and_only_loopback(cluster):
    cluster, opened = cluster
    assert opened, "the cluster's own ports should be found"
    assert {host for host, _ in opened} == {"127.0.0.1"}
    assert not any(_http_answers(host, port) for host, port in opened)
    assert "dashboard" not in cluster.scheduler.services
    assert cluster.dashboard_link in (None, "")


def test_dashboard_only_when_asked_and_on_loopback():
    with SecureLocalCluster(n_workers=1, threads_per_worker=1, dashboard=True) as cluster:
        server = cluster.scheduler.services["dashboard"]
        assert server.address == "127.0.0.1"
        assert _http_answers("127.0.0.1", server.port)


@pytest.mark.timeout(180)
def test_scheduler_address_uses_the_users_dask_security_config(tmp_path):
    """``--scheduler ADDRESS`` of a TLS cluster works with the TLS settings of the user's
    Dask configuration (here: files of the cluster's own authority)."""
    import dask

    from neurorad.batch import extract_manifest

    from batch_helpers import make_cohort, roi_stats_extractor

    cohort = make_cohort(tmp_path / "data", n_subjects=1)
    with SecureLocalCluster(n_workers=1, threads_per_worker=1) as cluster:
        security = cluster.security
        files = {}
        for name in ("tls_ca_file", "tls_client_cert", "tls_client_key"):
            files[name] = tmp_path / f"{name}.pem"
            files[name].write_text(getattr(security, name))
        config = {"distributed.comm.require-encryption": True,
                  "distributed.comm.tls.ca-file": str(files["tls_ca_file"]),
                  "distributed.comm.tls.client.cert": str(files["tls_client_cert"]),
                  "distributed.comm.tls.client.key": str(files["tls_client_key"])}
        with dask.config.set(config):
            result = extract_manifest(cohort.manifest, "ibsi-phantom", tmp_path / "out",
                                      scheduler=cluster.scheduler_address, progress=False,
                                      extractor=roi_stats_extractor, device="cpu")
        # Without that configuration the same address is refused (Dask: TypeError when a
        # tls:// address comes without any TLS context, OSError when the handshake fails).
        with pytest.raises((OSError, TypeError)):
            Client(cluster.scheduler_address, timeout=3)
    assert result.provenance["scheduler"] == "distributed"
    assert (result.n_computed, result.n_failed) == (4, 0)
