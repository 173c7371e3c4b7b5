"""XmlRpcUser: a user whose ``self.client`` calls an XML-RPC server, each call one ``request`` event.

The same shape as the XML-RPC example in Locust's documentation (``request_type="xmlrpc"``, the
function's name as ``name``, a ``xmlrpc.client.Fault`` as ``exception``): the standard library's
``ServerProxy`` talks through sockets gevent patches, so nothing else is needed for it to
cooperate with the other users.
"""

import time
from xmlrpc.client import Fault, ServerProxy

from pytest_loadhooks import User


class XmlRpcClient(ServerProxy):
    """A ServerProxy whose remote calls fire the ``request`` event when they return."""

    def __init__(self, host, request_event):
        super().__init__(host, allow_none=True)
        self._request_event = request_event

    def __getattr__(self, name):
        remote = ServerProxy.__getattr__(self, name)

        def call(*args):
            start_time, start = time.time(), time.perf_counter()
            result, exception = None, None
            try:
                result = remote(*args)
            except Fault as fault:  # the server's error answer; a broken connection is the task's error
                exception = fault
            self._request_event.fire(request_type="xmlrpc", name=name, start_time=start_time,
                                     response_time=(time.perf_counter() - start) * 1000, response_length=0,
                                     response=result, context={}, exception=exception, url=None)
            return result

        return call


class XmlRpcUser(User):
    """Set ``host`` (``http://127.0.0.1:8877/``, or ``--load-host``); ``self.client`` is an XmlRpcClient."""

    abstract = True

    def __init__(self, environment):
        super().__init__(environment)
        self.client = XmlRpcClient(self.host, request_event=environment.events.request)
