"""The Greeter service of hello.proto, for the gRPC example: ``python hello_server.py --port 50051``.

SayHello answers ``Hello, NAME!`` after ``delay_ms``; an empty name is refused with
INVALID_ARGUMENT. Served tells how many SayHello calls were answered and refused. It listens on
127.0.0.1 only and stops after ``--max-seconds`` (default 3600).
"""

import argparse
import threading
import time
from concurrent import futures

import grpc

from hello_stubs import hello_pb2, hello_pb2_grpc


class Greeter(hello_pb2_grpc.GreeterServicer):
    def __init__(self):
        self.lock = threading.Lock()
        self.answered = 0
        self.refused = 0

    def SayHello(self, request, context):  # noqa: N802 - the proto's method name
        time.sleep(request.delay_ms / 1000)
        if not request.name:
            with self.lock:
                self.refused += 1
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a name is required")
        with self.lock:
            self.answered += 1
        return hello_pb2.HelloReply(message=f"Hello, {request.name}!")

    def Served(self, request, context):  # noqa: N802
        with self.lock:
            return hello_pb2.ServedReply(answered=self.answered, refused=self.refused)


def serve(port: int) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=50))
    hello_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise SystemExit(f"hello_server: cannot listen on 127.0.0.1:{port}")
    server.start()
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=50051)
    parser.add_argument("--max-seconds", type=float, default=3600)
    args = parser.parse_args()
    server = serve(args.port)
    print(f"gRPC Greeter listening on 127.0.0.1:{args.port}", flush=True)
    server.wait_for_termination(timeout=args.max_seconds)
    server.stop(grace=1)


if __name__ == "__main__":
    main()
