"""Facade: everything an integration test needs, from one import.

    from support import harness
    s = harness.start_standin("apiserver-1", owner=self)
    r = harness.https_get(s.url("/readyz"), insecure=True)
"""

from .certs import Pki, make_ca  # noqa: F401
from .load import ClientLoad, LoadResult, run_load  # noqa: F401
from .process import Process, free_port, kha_bin, start_process, tcp_connects, wait_until  # noqa: F401
from .proxy import Proxy, start_kha_proxy  # noqa: F401
from .standin import Standin, start_standin, start_standins  # noqa: F401
from .web import (Response, Watch, https_get, metric_sum, metric_value, parse_prometheus,  # noqa: F401
                  request, tls_context)
