"""A load test of an XML-RPC service (issue 23):

    python examples/other_systems/xmlrpc/xmlrpc_server.py --port 8877 &
    pytest examples/other_systems/xmlrpc --load-users=10 --load-run-time=10s --load-host=http://127.0.0.1:8877/
"""

from xmlrpc_user import XmlRpcUser

from pytest_loadhooks import between, task


class Caller(XmlRpcUser):
    wait_time = between(0.05, 0.2)

    @task(2)
    def get_time(self):
        self.client.get_time()

    @task
    def get_random_number(self):
        number = self.client.get_random_number(0, 100)
        assert 0 <= number <= 100
