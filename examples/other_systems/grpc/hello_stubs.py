"""The messages and stubs of hello.proto, built from it at import time (grpcio-tools' protoc in-process),
so no generated code is kept beside it: ``hello_pb2`` (messages) and ``hello_pb2_grpc`` (stub, servicer)."""

import os
import sys

import grpc

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # protos_and_services finds hello.proto on sys.path
    sys.path.insert(0, _HERE)

hello_pb2, hello_pb2_grpc = grpc.protos_and_services("hello.proto")
