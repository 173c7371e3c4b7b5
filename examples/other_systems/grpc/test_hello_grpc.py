"""A load test of a gRPC service (issue 23):

    python examples/other_systems/grpc/hello_server.py --port 50051 &
    pytest examples/other_systems/grpc --load-users=10 --load-run-time=10s --load-host=http://127.0.0.1:50051

Each call through ``self.stub`` is one request in the results (type ``grpc``, the method's full name).
"""

from grpc_user import GrpcUser
from hello_stubs import hello_pb2, hello_pb2_grpc

from pytest_loadhooks import between, task


class Greeted(GrpcUser):
    stub_class = hello_pb2_grpc.GreeterStub
    wait_time = between(0.05, 0.2)

    @task
    def say_hello(self):
        reply = self.stub.SayHello(hello_pb2.HelloRequest(name="load test"))
        assert reply.message == "Hello, load test!"
