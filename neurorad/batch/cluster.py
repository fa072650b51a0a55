"""The local Dask cluster of ``neurorad extract``: reachable only by this run's own processes.

Labs run neurorad on shared GPU servers, where every user can open a connection to
127.0.0.1. A plain ``LocalCluster`` accepts anyone who connects to its ports (and runs their
code in the workers) and serves HTTP endpoints (``/info``, ``/metrics``, ``/json``, the
dashboard) even when no dashboard is asked for. The cluster built here:

* speaks TLS with mutual authentication on every connection (scheduler, workers, nannies,
  client), with a certificate authority and key made for this run only
  (``distributed.security.Security.temporary``, kept in memory and handed to the worker
  processes at start): a process without them cannot complete the handshake;
* binds every port to 127.0.0.1;
* starts no HTTP server at all: scheduler and workers skip ``start_http_server``. With
  ``dashboard=True`` (``neurorad extract --dashboard``) the scheduler serves the dashboard
  on 127.0.0.1 (port 8787, or a free one) — readable by every local user while it runs, which
  is why it is off by default. Workers never serve HTTP.

A user's own cluster (``--scheduler ADDRESS``) is reached with the security settings of their
Dask configuration (``distributed.comm.tls.*``), untouched by this module.
"""
from __future__ import annotations

import logging
import signal

from distributed import LocalCluster, Nanny, Scheduler, SpecCluster, Worker
from distributed.http.routing import RoutingApplication

log = logging.getLogger("neurorad.batch")

#: Where the dashboard listens when asked for (``--dashboard``); another free port when taken.
DASHBOARD_ADDRESS = "127.0.0.1:8787"


class _NoHttpServer:
    """Mixin for Dask servers: no HTTP server is started (no port, no endpoint)."""

    def start_http_server(self, routes, dashboard_address, default_port=0, ssl_options=None):
        # distributed's shutdown iterates over the applications of this attribute.
        self.http_application = RoutingApplication([])


class QuietScheduler(_NoHttpServer, Scheduler):
    """A distributed Scheduler without HTTP endpoints."""


class QuietWorker(_NoHttpServer, Worker):
    """A distributed Worker without HTTP endpoints, which leaves Ctrl-C to the driver.

    Ctrl-C in a terminal reaches every process of the foreground group; a worker process
    that took it would die with a page of tracebacks while the driver shuts the cluster down
    in order (and says, in one line, what is cached).
    """

    def __init__(self, *args, **kwargs):
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread of its process: nothing to change
            pass
        super().__init__(*args, **kwargs)


class QuietNanny(Nanny):
    """A Nanny whose worker process runs a :class:`QuietWorker` (a Nanny serves no HTTP)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("worker_class", QuietWorker)
        super().__init__(*args, **kwargs)


class _SchedulerClass(SpecCluster):
    """Lets :class:`SecureLocalCluster` choose the scheduler class LocalCluster hard-codes."""

    def __init__(self, *args, scheduler=None, **kwargs):
        scheduler = dict(scheduler, cls=self._scheduler_cls)
        super().__init__(*args, scheduler=scheduler, **kwargs)


class SecureLocalCluster(LocalCluster, _SchedulerClass):
    """A LocalCluster of processes on 127.0.0.1, TLS with a temporary certificate, no HTTP
    unless ``dashboard`` (see the module docstring). Other arguments as LocalCluster's."""

    def __init__(self, *, dashboard: bool = False, **kwargs):
        from distributed.security import Security

        self._scheduler_cls = Scheduler if dashboard else QuietScheduler
        try:
            security = Security.temporary()
        except ImportError as exc:  # pragma: no cover - cryptography is a dependency
            raise ImportError("the local cluster needs the `cryptography` package for its "
                              "temporary TLS certificate: pip install cryptography") from exc
        super().__init__(
            host="127.0.0.1", protocol="tls://", security=security, processes=True,
            worker_class=QuietNanny,
            dashboard_address=DASHBOARD_ADDRESS if dashboard else None, **kwargs)
        if dashboard:
            log.warning("Dask dashboard at %s (readable by every user of this machine while "
                        "the extraction runs)", self.dashboard_link)
