"""GrpcUser: a user whose ``self.stub`` calls a gRPC service, each call one ``request`` event.

The same shape as the gRPC example in Locust's documentation (``host``, ``stub_class``,
``self.stub``; ``request_type="grpc"``, the full method name as ``name``, the ``grpc.RpcError``
as ``exception``), so a locustfile written against that example runs here unchanged.

grpc's C core waits on its own: ``init_gevent()`` hands its waiting to gevent, so a slow
service holds up only the user waiting for it (a load session has patched gevent already).
"""

import os
import time

# grpc's fork support (on by default) can abort a child this process starts between fork and exec
# (grpc/grpc issue 43055); a load run starts worker processes. Before grpc is imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc  # noqa: E402
import grpc.experimental.gevent as grpc_gevent  # noqa: E402
from grpc_interceptor import ClientInterceptor  # noqa: E402

from pytest_loadhooks import User  # noqa: E402
from pytest_loadhooks.exception import LocustError  # noqa: E402

grpc_gevent.init_gevent()


class RequestEventInterceptor(ClientInterceptor):
    """Times every call on the channel and fires the environment's ``request`` event for it."""

    def __init__(self, environment):
        super().__init__()
        self.environment = environment

    def intercept(self, method, request_or_iterator, call_details):
        start_time, start = time.time(), time.perf_counter()
        response, exception, length = None, None, 0
        try:
            response = method(request_or_iterator, call_details)
            length = response.result().ByteSize()  # waits for the answer; raises the call's error
        except grpc.RpcError as error:
            exception = error
        self.environment.events.request.fire(
            request_type="grpc", name=call_details.method, response_time=(time.perf_counter() - start) * 1000,
            response_length=length, response=response, context={}, exception=exception, start_time=start_time,
            url=None)
        return response


class GrpcUser(User):
    """Set ``stub_class`` (a generated ``...Stub``) and ``host`` (``host:port``, or ``--load-host``)."""

    abstract = True
    stub_class = None

    def __init__(self, environment):
        super().__init__(environment)
        for value, name in ((self.host, "host"), (self.stub_class, "stub_class")):
            if value is None:
                raise LocustError(f"{type(self).__name__}: set its {name}")
        # --load-host takes http(s) URLs only: http://127.0.0.1:50051 names the channel 127.0.0.1:50051.
        target = self.host.split("://", 1)[-1].rstrip("/")
        self.channel = grpc.intercept_channel(grpc.insecure_channel(target), RequestEventInterceptor(environment))
        self.stub = self.stub_class(self.channel)

    def on_stop(self):
        self.channel.close()
