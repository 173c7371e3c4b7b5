#!/usr/bin/env python3
"""Run Locust's own example locustfiles under pytest, with only their imports rewritten.

    python scripts/locust_examples.py [--examples /tmp/locust-src/examples] [--only basic.py ...]

The check behind the drop-in claim (issue #8): each plain-HTTP example that needs no
external service and no distributed mode (and, issue #23, the examples of other systems, each
beside its real server: see SERVERS, ``Example.host`` and, for
dns_ex.py's public resolvers, ``Example.netns``) is copied to a temporary directory with ``locust``
replaced by ``pytest_loadhooks`` in its import statements (nothing else), and run with

    python -m pytest <file> --load-host=<target> --load-users=2 --load-run-time=2s -p no:cacheprovider

against examples/target_app.py on a free 127.0.0.1 port (with 20 users for the three examples whose
tasks fail at random by design, so that not every request fails by chance: see ``Example.users``).
The target answers the routes the examples request as the services they were written for do (Locust's
own web UI, httpbin, a login), so their requests succeed unless the example means them to fail.

Examples that extend the web UI run with ``--load-web`` on a free port for 6 s (and their own
options, e.g. ``--load-web-login``), and the pages they add are fetched while the run goes (a login
through their own form first, cookies kept), each checked against what Locust's UI shows for it.
One line per example says whether it ran, and whether its requests went to the host given on the
command line. The exit status is non-zero when any selected example failed or sent a request elsewhere.

Beside the example, the temporary directory gets a ``conftest.py`` written here. It only
observes and guards: it records each request event's URL and status (how we know where the
traffic went; the target app keeps no access log), and refuses every connection and name
lookup that is not for the loopback address, so an example whose class ``host`` was not
overridden fails loudly instead of loading a public site. Proxy variables are removed from
the environment for the same reason. Nothing here sends traffic beyond 127.0.0.1.

Examples whose ``LoadTestShape`` runs for minutes are run too: Locust ignores ``-t`` for a
shape, and so do we, so they are watched for a few seconds (traffic flowing, the session
saying the common options do not apply to the shape) and then interrupted.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET_APP = ROOT / "examples" / "target_app.py"
DEFAULT_EXAMPLES = Path("/tmp/locust-src/examples")
RUN_TIMEOUT = 90.0      # seconds a run that should finish may take (pytest start + 2 s run + teardown)
SHAPE_WINDOW = 8.0      # seconds a minutes-long shape run is watched before it is interrupted
WEB_RUN_TIME = "6s"     # a web UI example's run: long enough to fetch its pages while it goes
PROBE_PATIENCE = 4.0    # seconds a page may take to show what it should (rows come with the first requests)


@dataclass(frozen=True)
class Probe:
    """A page fetched from an example's web UI while its run goes, in order, sharing cookies (a login)."""

    path: str
    expect: str                       # a regular expression the answer's body must match
    form: dict[str, str] | None = None  # POST these fields (else GET); redirects are followed


@dataclass(frozen=True)
class Example:
    path: str                         # relative to the examples directory
    why: str                          # what the example exercises
    shape_runs_for: float = 0.0       # > 0: a shape that lasts this long under Locust too; watched, then stopped
    http: bool = True                 # False: its users send no HTTP (they fire request events themselves, or none)
    data_files: tuple[str, ...] = ()  # files the example reads from its own directory
    env: dict[str, str] = field(default_factory=dict)  # variables the example itself requires ({target} filled in)
    # More users for an example whose tasks fail at random by design: with 2 users it makes so few requests
    # that all of them fail now and then, and a run in which every request failed fails (issue #18).
    users: int = 2
    # What it does under Locust 2.x, checked here too (output needs -s, so those runs get it):
    prints: tuple[str, ...] = ()      # regular expressions its own print() output must match
    names: tuple[str, ...] = ()       # request names that must be recorded
    any_name: tuple[str, ...] = ()    # request names of which at least one must be recorded (random task choice)
    never: tuple[str, ...] = ()       # request names that must not be recorded
    exact_requests: int | None = None  # the number of requests, when Locust's behaviour fixes it
    # With the web UI (--load-web on a free port): "target" loads the target app, "self" loads the UI
    # itself (an example whose users request the routes it adds); probes are fetched from the UI.
    web: str = ""
    options: tuple[str, ...] = ()     # more pytest options (e.g. --load-web-login)
    probes: tuple[Probe, ...] = ()
    # Other systems (issue 23): --load-host ("" gives none: the example keeps its own host or local mode) and
    # the placeholders of `host` and `env`: {target}, and {mongodb} / {milvus}, the SERVERS started for it.
    host: str = "{target}"
    servers: tuple[str, ...] = ()
    own_server: tuple[str, int] | None = None  # (its data file, port): the example's own server, run beside it
    run_time: str = "2s"              # longer for an example whose users first sleep in on_start (mqtt: 5 s)
    # Public addresses the example names (dns_ex.py's resolvers): it runs in a network namespace made for it, whose
    # loopback carries these addresses and whose only other process is `netns_server` answering on them ({python}:
    # this interpreter, {root}: the checkout). The namespace has no route out, so nothing can reach the real ones.
    netns: tuple[str, ...] = ()
    netns_server: tuple[str, ...] = ()


SELECTED = [
    Example("add_command_line_argument.py", "init_command_line_parser arguments with Locust's extras, read from "
            "parsed_options (defaults: in a test module they are not command-line options, see the guide)",
            http=False, prints=(r"Custom argument supplied: $", r"my_ui_invisible_argument=I am invisible")),
    # One task in three requests /does_not_exist (a 404 by design), and a user waits 2-5 s after its first task:
    # 2 users make 2 requests in 2 s, both 404 one run in 9; 20 users, one in 3**20.
    Example("basic.py", "TaskSet with a tasks list and @task; class host 127.0.0.1:8089", users=20),
    Example("custom_messages.py", "register_message/send_message looping back in a LocalRunner, worker_count",
            http=False, prints=(r"Thanks for the 2 users!", r"concurrent_message received with data",
                                r"^User[01]$")),
    Example("custom_wait_function.py", "wait_time as a lambda, two user classes with class hosts",
            users=20),  # basic.py's tasks (one in three a 404 by design): 2 users made 2-4 requests
    Example("debugging.py", "run_single_user imported at module level, __main__ guard; host http://localhost"),
    Example("debugging_advanced.py", "run_single_user, StopUser from a task, locust.exception",
            names=("/hello1", "/hello2"), exact_requests=2),  # one User1 and one User2, each stops after one
    Example("dynamic_user_credentials.py", "TaskSet on_start login, a user class named User, no class host"),
    Example("events.py", "request listener, web_ui guarded, report_to_master/worker_report listeners"),
    Example("extend_web_ui.py", "web UI extension guarded by `if environment.web_ui:` (so headless-safe), reset_stats"),
    Example("fast_http_locust.py", "FastHttpUser with a class host"),
    Example("locustfile.py", "the quickstart: on_start POST, name= grouping, time.sleep under gevent",
            names=("/login",)),
    # Each report fails with probability 1/2 (failing_task always, decorator_test one time in two), and a user
    # reports once or twice in 2 s: 2 users made 2-3 reports, all failed in 1 run in 4 to 8; 20 users, < 2**-20.
    Example("manual_stats_reporting.py", "plain User firing events.request itself, exceptions in tasks",
            http=False, any_name=("successful_task", "decorator_test", "failing_task"), users=20),
    Example("markov_taskset.py", "MarkovTaskSet with every transition/transitions form", http=False,
            prints=(r"Method 1: Using a single @transition decorator", r"Method 2: ")),
    Example("multiple_hosts.py", "a second HttpSession(base_url=, request_event=, user=) from locust.clients",
            env={"API_HOST": "{target}"}),  # API_HOST is the example's own second host: the target again
    Example("nested_inline_tasksets.py", "TaskSet classes nested inline with @task, interrupt()"),
    Example("open_closed_workload.py", "constant and constant_pacing users whose tasks send nothing", http=False),
    Example("response_validations.py", "FastHttpUser.rest, a request listener raising RescheduleTask, "
            "FastHttpUser.host set at module level",
            # the target welcomes the posted username as the example's own route does, so the flow reaches checkout
            names=("/authenticate", "/checkout/confirm")),
    Example("semaphore_wait.py", "users waiting in on_start for spawning_complete"),
    Example("stop_on_threshold.py", "a greenlet watching fail_ratio and calling runner.quit(); class host google.com"),
    Example("testdata_from_csv.py", "FastHttpUser.rest with data from a CSV beside the file",
            data_files=("testdata_from_csv.csv",)),
    Example("x-forwarded-for.py", "custom __init__ setting client headers; a file name with dashes"),
    Example("bottlenecked_server.py", "a route added to the web UI in init (asserting environment.web_ui), "
            "loaded by its own users: at most 10 of its 1 s requests at a time", web="self",
            names=("/slow",), probes=(Probe("/slow", r"^Another page$"),)),
    Example("web_ui_cache_stats.py", "extended_tabs/extended_tables/extended_csv_files, an after_request hook "
            "adding extended_stats to /stats/requests, render_template('index.html') from a Blueprint",
            web="target", names=("/response-headers?X-Cache=HIT", "/"),
            probes=(Probe("/extend", r'href="/cache/csv"[\s\S]*<h2>Cache statistics</h2>[\s\S]*data-key="noinfo"'),
                    Probe("/stats/requests", r'"extended_stats": \[\{"key": "cache-statistics", "data": \[\{'),
                    Probe("/cache/csv", r'^"Name","hit","miss","noinfo"\n"/response-headers'))),
    Example("web_ui_auth/basic.py", "--web-login with auth_args (a username/password callback and a provider), "
            "login_manager.user_loader, a login Blueprint", web="target", options=("--load-web-login",),
            env={"FLASK_SECRET_KEY": "locust-examples"},
            probes=(Probe("/", r'action="/login_submit"[\s\S]*href="/login/github"'),
                    Probe("/stats/requests", r'"success": ?false'),
                    Probe("/login_submit", r"<h2>Endpoints</h2>", form={"username": "me", "password": "pw"}),
                    Probe("/stats/requests", r'"state": "(spawning|running)"'))),
    Example("web_ui_auth/custom_form.py", "--web-login with a custom_form (email, checkbox, select, secrets), "
            "auth_error shown on the login page", web="target", options=("--load-web-login",),
            env={"FLASK_SECRET_KEY": "locust-examples"},
            probes=(Probe("/login", r'type="email"[\s\S]*type="checkbox" name="is_admin"[\s\S]*'
                                   r'<option value="manager"[\s\S]*type="password" name="confirm_password"'),
                    Probe("/login_submit", r"Passwords do not match!",
                          form={"username": "me@example.com", "password": "a", "confirm_password": "b"}),
                    Probe("/login_submit", r"<h2>Endpoints</h2>",
                          form={"username": "me@example.com", "password": "a", "confirm_password": "a",
                                "is_admin": "on", "user_group": "manager"}))),
    # Other systems (issue 23), each against a real server on 127.0.0.1: grpcio's (the example starts its own
    # on localhost:50051 from an init listener), the standard library's XML-RPC server (its server.py, on 8877),
    # NX-27017 (MongoDB's wire protocol, from PyPI), Milvus Lite's, qdrant-client's local mode (no host given),
    # and the target's OpenAI-compatible endpoint.
    Example("grpc/locustfile.py", "GrpcUser with a grpc_interceptor interceptor, grpc on gevent, a server "
            "started by an init listener", http=False, host="",
            data_files=("grpc_user.py", "hello_pb2.py", "hello_pb2_grpc.py", "hello_server.py"),
            names=("/locust.hello.HelloService/SayHello",)),
    Example("custom_xmlrpc_client/xmlrpc_locustfile.py", "a ServerProxy firing request events, against its "
            "server.py", http=False, host="", own_server=("server.py", 8877), data_files=("server.py",),
            any_name=("get_time", "get_random_number")),
    Example("mongodb/locustfile.py", "locust.contrib.mongodb's MongoDBUser (pymongo)", http=False, host="",
            servers=("mongodb",), env={"MONGODB_URI": "{mongodb}"}, names=("QUERY",)),
    Example("milvus/locustfile.py", "locust.contrib.milvus's MilvusUser (pymilvus, grpc on gevent)", http=False,
            host="{milvus}", servers=("milvus",), any_name=("insert", "search", "query", "delete")),
    Example("qdrant/locustfile.py", "locust.contrib.qdrant's QdrantUser, on qdrant-client's local mode (no host)",
            http=False, host="", any_name=("upsert", "search", "scroll", "delete")),
    # PostgreSQL (Debian's, a throwaway cluster, its table made by the server's setup), Mosquitto (Debian's, on
    # the localhost:1883 the examples name) and a Socket.IO server on the localhost:5001 socketio_ex.py names.
    Example("postgres/locustfile.py", "locust.contrib.postgres's PostgresUser (psycopg 3), PG* variables; the "
            "server's setup creates the rnc_database table its query reads", http=False, host="",
            servers=("postgres",), env={"PGHOST": "127.0.0.1", "PGPORT": "{postgres}"},
            names=("execute_query",)),
    Example("mqtt/locustfile.py", "locust.contrib.mqtt's MqttUser (paho-mqtt) with a class host and port "
            "(localhost:1883); on_start sleeps 5 s, so it runs 8 s", http=False, host="", servers=("mosquitto",),
            run_time="8s"),
    Example("mqtt/locustfile_custom_mqtt_client.py", "a MqttClient subclass (client_cls) renaming requests "
            "through _generate_event_name", http=False, host="", servers=("mosquitto",), run_time="8s",
            names=("mqtt:publish:0",)),
    # Its task stops at event.wait(): python-socketio calls on_chat_message(self, event, data) with the data alone
    # (a TypeError in the client's greenlet), so the event is never set; the same under Locust. What it sends before
    # that is checked: join_room (a call), send_message twice (Client.call sends through the client's emit too).
    Example("socketio/socketio_ex.py", "SocketIOUser + HttpUser, sio.call/emit/on; its on_chat_message(self, event, "
            "data) gets the data alone from python-socketio (TypeError), so each task waits at event.wait() after "
            "join_room and two send_message, under Locust too", http=False,
            servers=("socketio",), names=("join_room", "send_message"), never=("leave_room", "/")),
    # As root only (ip netns); otherwise it is reported as not run, with the reason.
    Example("dns_ex.py", "locust.contrib.dns's DNSUser (dnspython), udp/tcp/name=, against our DNS server (zone com.) "
            "on 8.8.8.8 and 1.1.1.1 inside a network namespace of its own; doesnot-exist-1234234.com is NXDOMAIN, a "
            "failure as against the public resolvers", http=False, host="", netns=("8.8.8.8", "1.1.1.1"),
            netns_server=("{python}", "{root}/examples/other_systems/dns_zone_server.py", "--port", "53", "--zone",
                          "com.", "--record", "example=127.0.0.1", "--address", "8.8.8.8", "--address", "1.1.1.1"),
            names=("udp", "tcp", "You can rename requests")),
    Example("openai_ex.py", "locust.contrib.oai's OpenAIUser, the Responses API, rename_request",
            host="{target}/v1", env={"OPENAI_API_KEY": "not-a-real-key"}, names=("/v1/responses", "mini")),
    Example("custom_shape/double_wave.py", "LoadTestShape without use_common_options", shape_runs_for=600),
    Example("custom_shape/stages.py", "LoadTestShape stages", shape_runs_for=240),
    Example("custom_shape/staging_user_classes.py", "shape ticks naming user_classes", shape_runs_for=240),
    Example("custom_shape/step_load.py", "step shape", shape_runs_for=600),
    Example("custom_shape/wait_user_count.py", "shape using get_current_user_count/reset_time, slow User __init__",
            shape_runs_for=35),
    Example("dispatch_test_scripts/locustfile.py", "three user classes and a ramp shape", shape_runs_for=315),
]

# Every other locustfile in Locust's examples, and why it is not run here.
EXCLUDED = {
    "browse_docs_sequence_test.py": "needs docs.locust.io's HTML (and pyquery): it follows links parsed from it",
    "browse_docs_test.py": "needs docs.locust.io's HTML (and pyquery): it follows links parsed from it",
    "csrf_form_authentication.py": "needs a site serving a sign-in form with an authenticity_token to parse",
    "rest.py": "needs postman-echo.com's echo semantics and requests absolute URLs on example.com",
    "test_pytest.py": "not a locustfile: a pytest test using Locust's own pytest plugin fixtures on www.locust.io",
    "testdata_management.py": "fetches from postman-echo.com at import time and in every task (absolute URLs)",
    "use_as_lib.py": "a script, not a locustfile: builds its own Environment and web UI on port 8089 and "
                     "runs 30 s at import time against docs.locust.io",
    "worker_index.py": "needs locust_plugins and one CSV file per distributed worker",
    "custom_xmlrpc_client/server.py": "not a locustfile: the XML-RPC server of xmlrpc_locustfile.py (run beside it)",
    "grpc/grpc_user.py": "not a locustfile: the GrpcUser module of grpc/locustfile.py (copied beside it)",
    "grpc/hello_pb2.py": "not a locustfile: generated messages of grpc/locustfile.py (copied beside it)",
    "grpc/hello_pb2_grpc.py": "not a locustfile: generated stubs of grpc/locustfile.py (copied beside it)",
    "grpc/hello_server.py": "not a locustfile: the gRPC server grpc/locustfile.py starts (copied beside it)",
    "sdk_session_patching/session_patch_locustfile.py": "needs the archivist SDK and an auth.text token",
    "socketio/echo_server.py": "not a locustfile: the server of socketio_ex.py (run beside it when gevent-websocket, "
                               "which it needs, is installed; else examples/other_systems/socketio_echo_server.py, "
                               "which answers the same events, on the same port 5001)",
    "terraform/aws/plan/basic.py": "requests absolute URLs on google.com, microsoft.com and facebook.com",
}

# Observer and guard placed beside each example (see the module docstring).
GUARD_CONFTEST = '''
"""Written by scripts/locust_examples.py: records requests, refuses anything not on loopback."""
import json, os, socket

_LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requests.jsonl")
# In a network namespace made for the example, the public addresses it names are on its own loopback.
_NAMESPACE_ADDRESSES = os.environ.get("LOCUST_EXAMPLES_NETNS", "")
_LOOPBACK = {"127.0.0.1", "::1", "localhost", *filter(None, _NAMESPACE_ADDRESSES.split(","))}


def _refuse_remote_connect(original):
    def connect(self, address, *args, **kwargs):
        if isinstance(address, tuple) and address[0] not in _LOOPBACK:
            raise ConnectionRefusedError(f"locust_examples guard: refused connection to {address[0]}")
        return original(self, address, *args, **kwargs)
    return connect


def _refuse_remote_lookup(original):
    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in _LOOPBACK:
            raise socket.gaierror(f"locust_examples guard: refused name lookup of {name}")
        return original(host, *args, **kwargs)
    return getaddrinfo


def _install_guard():
    for cls in {socket.socket}:
        cls.connect = _refuse_remote_connect(cls.connect)
        cls.connect_ex = _refuse_remote_connect(cls.connect_ex)
    socket.getaddrinfo = _refuse_remote_lookup(socket.getaddrinfo)
    try:
        import gevent.socket
    except ImportError:
        return
    if gevent.socket.socket is not socket.socket:
        gevent.socket.socket.connect = _refuse_remote_connect(gevent.socket.socket.connect)
    gevent.socket.getaddrinfo = _refuse_remote_lookup(gevent.socket.getaddrinfo)


_install_guard()

from pytest_loadhooks import events  # noqa: E402  (after the guard, before the example is imported)


@events.request.add_listener
def _record_request(request_type, name, response=None, exception=None, url=None, **kwargs):
    status = getattr(response, "status_code", None)
    with open(_LOG, "a") as handle:
        handle.write(json.dumps({"type": request_type, "name": name, "url": url, "status": status,
                                 "exception": None if exception is None else repr(exception)[:200]}) + "\\n")
'''


# -- preparing a copy -------------------------------------------------------------------------------------

def rewrite_imports(source: str) -> str:
    """``locust`` -> ``pytest_loadhooks`` in import statements only; every other line stays as it is."""
    lines = source.splitlines(keepends=True)
    for node in ast.walk(ast.parse(source)):
        index = node.lineno - 1 if isinstance(node, (ast.Import, ast.ImportFrom)) else None
        if isinstance(node, ast.ImportFrom) and node.module and re.match(r"locust(\.|$)", node.module):
            lines[index] = re.sub(r"\bfrom\s+locust\b", "from pytest_loadhooks", lines[index], count=1)
        elif isinstance(node, ast.Import) and any(re.match(r"locust(\.|$)", a.name) for a in node.names):
            # `import locust` keeps the name `locust` bound, so the rest of the file still reads the same
            lines[index] = re.sub(r"\bimport\s+locust\b(?![\w.])", "import pytest_loadhooks as locust", lines[index])
            lines[index] = re.sub(r"\bimport\s+locust\.", "import pytest_loadhooks.", lines[index])
    return "".join(lines)


def prepare(example: Example, examples_dir: Path, workdir: Path) -> Path:
    source = (examples_dir / example.path).read_text()
    copy = workdir / Path(example.path).name
    copy.write_text(rewrite_imports(source))
    for name in example.data_files:
        source_file = examples_dir / Path(example.path).parent / name
        if name.endswith(".py"):  # a module of the example (grpc's grpc_user.py): its imports rewritten too
            (workdir / name).write_text(rewrite_imports(source_file.read_text()))
        else:
            shutil.copy(source_file, workdir / name)
    (workdir / "conftest.py").write_text(GUARD_CONFTEST)
    return copy


# -- the target -------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_target(max_seconds: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(TARGET_APP), "--port", str(port), "--max-seconds", str(max_seconds)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"target app did not start on port {port}")


# Real servers the other-system examples need (issue 23), started once when a selected example names them.
# Their programs come with the project's test extra (this interpreter's environment) or Debian's packages that
# scripts/setup-dev.sh installs (PostgreSQL, Mosquitto).
_BIN = Path(sys.executable).parent
PG_SYSTEM_USER = "loadhooks-pg"  # PostgreSQL refuses to run as root; tests/other_systems.py uses the same account


@dataclass(frozen=True)
class Server:
    """How to start one: ``start(port, directory, examples_dir)`` returns what stops it."""

    start: Callable[[int, Path, Path], Callable[[], None]]
    place: str     # the value of its placeholder in an example's host and env, {port} filled in
    port: int = 0  # 0: a free port; else the one Locust's example names (it must be free)


def command_server(*command: str) -> Callable[[int, Path, Path], Callable[[], None]]:
    """A server that is one process: ``command`` with {port} and {dir} filled in."""
    def start(port: int, directory: Path, examples_dir: Path) -> Callable[[], None]:
        return popen_server([part.format(port=port, dir=directory) for part in command], port, command[0])
    return start


def popen_server(command: list[str], port: int, what: str, cwd: Path | None = None) -> Callable[[], None]:
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, process, what)
    return lambda: stop([process])


def start_postgres(port: int, directory: Path, examples_dir: Path) -> Callable[[], None]:
    """A throwaway cluster (trust auth, user postgres, on 127.0.0.1) with the table postgres/locustfile.py reads:
    the example queries RNAcentral's public database, whose rnc_database table is not in a new cluster."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    if not found:
        raise SystemExit("PostgreSQL's server is missing: apt-get install postgresql (see scripts/setup-dev.sh)")
    tools, data = found[-1].parent, directory / "postgres"
    data.mkdir()
    as_user = postgres_account(data)

    def run(tool: str, *args: str) -> None:
        subprocess.run([*as_user, str(tools / tool), *args], check=True, stdout=subprocess.DEVNULL, timeout=120)

    run("initdb", "-D", str(data / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
    run("pg_ctl", "-D", str(data / "data"), "-l", str(data / "server.log"), "-w", "-t", "60", "-o",
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={data} -c fsync=off", "start")
    run("psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c",
        "CREATE TABLE rnc_database (id integer PRIMARY KEY, descr text, display_name text);"
        "INSERT INTO rnc_database SELECT n, 'DB' || n, 'Database ' || n FROM generate_series(1, 50) AS n;")
    return lambda: run("pg_ctl", "-D", str(data / "data"), "-m", "immediate", "-w", "stop")


def postgres_account(directory: Path) -> list[str]:
    """As root, the prefix that runs PostgreSQL's tools as a system account owning ``directory``."""
    if os.geteuid() != 0:
        return []
    try:
        account = pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
                       check=True)
        account = pwd.getpwnam(PG_SYSTEM_USER)
    os.chown(directory, account.pw_uid, account.pw_gid)
    return ["runuser", "-u", PG_SYSTEM_USER, "--"]


def start_mosquitto(port: int, directory: Path, examples_dir: Path) -> Callable[[], None]:
    """Debian's Mosquitto with Locust's mosquitto_config (anonymous clients allowed), on loopback only."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        raise SystemExit("mosquitto is missing: apt-get install mosquitto (see scripts/setup-dev.sh)")
    config = directory / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    config.chmod(0o644)  # as root, mosquitto reads it as its own user
    return popen_server([binary, "-c", str(config)], port, "mosquitto")


def start_socketio(port: int, directory: Path, examples_dir: Path) -> Callable[[], None]:
    """Locust's own socketio/echo_server.py when gevent-websocket (which it imports) is installed; else ours,
    which answers the same events (join_room, send_message, leave_room) with python-socketio on gevent too."""
    theirs = examples_dir / "socketio" / "echo_server.py"
    if theirs.is_file() and importlib.util.find_spec("geventwebsocket") and port == 5001:
        return popen_server([sys.executable, str(theirs)], port, "socketio/echo_server.py", cwd=directory)
    ours = ROOT / "examples" / "other_systems" / "socketio_echo_server.py"
    return popen_server([sys.executable, str(ours), "--port", str(port)], port, "socketio_echo_server.py")


SERVERS = {
    "mongodb": Server(command_server(str(_BIN / "nx-27017"), "--db", "memory", "--host", "127.0.0.1", "-p", "{port}",
                                     "--pid-file", "{dir}/nx-27017.pid"), "mongodb://127.0.0.1:{port}/"),
    "milvus": Server(command_server(str(_BIN / "milvus-lite"), "server", "--data-dir", "{dir}/milvus", "--host",
                                    "127.0.0.1", "--port", "{port}"), "http://127.0.0.1:{port}"),
    "postgres": Server(start_postgres, "{port}"),
    "mosquitto": Server(start_mosquitto, "localhost:{port}", port=1883),  # the port mqtt/*.py's users name
    "socketio": Server(start_socketio, "ws://localhost:{port}", port=5001),  # the URL socketio_ex.py connects to
}


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"{what} did not start on port {port}")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_servers(names: set[str], workdir: Path, examples_dir: Path) -> tuple[list[Callable[[], None]],
                                                                                dict[str, str]]:
    """Start the named SERVERS; what stops each, and each one's placeholder value."""
    stoppers: list[Callable[[], None]] = []
    places: dict[str, str] = {}
    workdir.chmod(0o755)  # as root, PostgreSQL's and Mosquitto's own accounts reach their files in it
    try:
        for name in sorted(names):
            server = SERVERS[name]
            if server.port and not port_is_free(server.port):
                raise SystemExit(f"{name}: port {server.port}, which Locust's example names, is in use")
            port = server.port or free_port()
            directory = workdir / name
            directory.mkdir()
            directory.chmod(0o755)
            stoppers.append(server.start(port, directory, examples_dir))
            places[name] = server.place.format(port=port)
    except BaseException:
        stop_servers(stoppers)
        raise
    return stoppers, places


def stop_servers(stoppers: list[Callable[[], None]]) -> None:
    for stop_one in reversed(stoppers):
        try:
            stop_one()
        except (OSError, subprocess.SubprocessError) as error:
            print(f"(a server did not stop cleanly: {error})", file=sys.stderr)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


# -- a network namespace of its own (Example.netns) ---------------------------------------------------------

class NotRunnable(Exception):
    """This example cannot run here (the reason): reported as not run, not as a failure."""


def ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if result.returncode:
        raise NotRunnable(f"`ip {' '.join(args)}` said {result.stderr.strip()!r}")


@contextmanager
def network_namespace(example: Example) -> Iterator[list[str]]:
    """The command prefix that runs inside the example's namespace, its server answering there (none: [])."""
    if not example.netns:
        yield []
        return
    if os.geteuid() != 0 or not shutil.which("ip"):
        raise NotRunnable("needs root and iproute2's `ip netns` (its addresses go in a network namespace made for it)")
    name = f"locust-example-{os.getpid()}"
    ip("netns", "add", name)
    server: subprocess.Popen | None = None
    try:
        ip("-n", name, "link", "set", "lo", "up")
        for address in example.netns:
            ip("-n", name, "address", "add", f"{address}/32", "dev", "lo")
        prefix = ["ip", "netns", "exec", name]
        if example.netns_server:
            command = [part.format(python=sys.executable, root=ROOT) for part in example.netns_server]
            server = subprocess.Popen(prefix + command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            said = server.stdout.readline() if server.stdout else ""  # its first line: it is listening
            if server.poll() is not None:
                raise NotRunnable(f"its server did not start in the namespace: {said.strip()}")
        yield prefix
    finally:
        if server is not None:
            stop([server])
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False, timeout=30)


# -- running one ------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    example: Example
    ran: bool
    detail: str              # first error line, or what was observed
    requests_seen: int       # request events recorded by the guard conftest
    counted: int | None      # requests counted in the run's JSON (None: no JSON written)
    foreign_hosts: set[str]  # hosts other than the target that requests went to
    not_found: list[str]     # paths the target app answered with 404
    seconds: float
    host: str = ""           # where its traffic had to go: the target, or its own web UI
    not_run: str = ""        # why it could not run here (NotRunnable); not a failure


    @property
    def traffic_ok(self) -> bool:
        if not self.example.http:
            return not self.foreign_hosts
        return self.requests_seen > 0 and not self.foreign_hosts

    @property
    def ok(self) -> bool:
        return bool(self.not_run) or (self.ran and self.traffic_ok)


def clean_environment(places: dict[str, str], example: Example) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("LOADHOOKS_")}
    env.update({name: value.format(**places) for name, value in example.env.items()})
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if example.netns:
        env["LOCUST_EXAMPLES_NETNS"] = ",".join(example.netns)  # the guard lets these through: they are local there
    return env


def run_pytest(command: list[str], cwd: Path, env: dict[str, str], window: float | None,
               during: Callable[[], None] | None = None) -> tuple[int | None, str]:
    """Run pytest; with ``window``, interrupt it (Ctrl-C, as a user would) after that many seconds;
    ``during`` is called once it has started (the web UI's probes)."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    if during is not None:
        during()
    try:
        output, _ = process.communicate(timeout=window or RUN_TIMEOUT)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        return None, output


def first_error_line(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("FAILED "):  # the verdict's own line, before any logged "ERROR    ..." record
            return line.strip()
    for line in output.splitlines():
        if line.startswith(("E   ", "ERROR ", "FAILED ")):
            return line.strip()
    for line in output.splitlines():
        if re.search(r"(Error|Exception|Traceback)\b", line):
            return line.strip()
    tail = [line for line in output.splitlines() if line.strip()]
    return tail[-1].strip() if tail else "(no output)"


def read_requests(workdir: Path) -> list[dict]:
    log = workdir / "requests.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def counted_requests(json_path: Path) -> int | None:
    try:
        document = json.loads(json_path.read_text())
    except (OSError, ValueError):
        return None
    return sum(entry.get("num_requests", 0) for entry in document.get("stats", []))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def fetch_probes(web_url: str, probes: tuple[Probe, ...], missed: list[str]) -> None:
    """Fetch each probe from the web UI (waiting for it to listen first); what did not match goes to ``missed``."""
    netloc = urlsplit(web_url).netloc
    host, port = netloc.rsplit(":", 1)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                missed.append(f"the web UI never listened on {web_url}")
                return
            time.sleep(0.1)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    for probe in probes:
        body, until = "", time.monotonic() + PROBE_PATIENCE
        while not re.search(probe.expect, body) and time.monotonic() < until:
            body = fetch(opener, web_url + probe.path, probe.form)
            if not re.search(probe.expect, body):
                time.sleep(0.3)  # e.g. rows that come with the first requests
        if not re.search(probe.expect, body):
            missed.append(f"{probe.path} did not match {probe.expect!r}: {body[:120]!r}")


def fetch(opener: urllib.request.OpenerDirector, url: str, form: dict[str, str] | None) -> str:
    """The body of a GET (or a POST of ``form``), redirects followed; an error's body or text too."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with opener.open(url, data=data, timeout=10) as answer:
            return answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:  # a 401 or 404 still has a body to match
        return error.read().decode("utf-8", "replace")
    except OSError as error:
        return f"({error})"


def run_example(example: Example, examples_dir: Path, places: dict[str, str], keep: bool) -> Outcome:
    workdir = Path(tempfile.mkdtemp(prefix="locust-example-"))
    own_server: list[subprocess.Popen] = []
    try:
        copy = prepare(example, examples_dir, workdir)
        json_path = workdir / "result.json"
        web_url = f"http://127.0.0.1:{free_port()}" if example.web else ""
        # where the example's traffic must go ("": none given, the example keeps its own host)
        host = web_url if example.web == "self" else example.host.format(**places)
        command = [sys.executable, "-m", "pytest", copy.name, *([f"--load-host={host}"] if host else []),
                   f"--load-users={example.users}",
                   f"--load-run-time={WEB_RUN_TIME if example.web else example.run_time}", "-p", "no:cacheprovider",
                   f"--load-json={json_path}", *example.options]
        if example.web:
            command += ["--load-web", f"--load-web-port={urlsplit(web_url).port}"]
        if example.prints:
            command.append("-s")  # the example's own print() output is what shows its behaviour
        missed: list[str] = []
        during = (lambda: fetch_probes(web_url, example.probes, missed)) if example.probes else None
        started = time.monotonic()
        window = SHAPE_WINDOW if example.shape_runs_for else None
        env = clean_environment(places, example)
        if example.own_server:
            script, port = example.own_server
            own_server.append(subprocess.Popen([sys.executable, script], cwd=workdir, env=env,
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_for_port(port, own_server[0], f"{example.path}'s {script}")
        try:
            with network_namespace(example) as prefix:
                code, output = run_pytest(prefix + command, workdir, env, window, during)
        except NotRunnable as reason:
            return Outcome(example, False, "", 0, None, set(), [], time.monotonic() - started, host,
                           not_run=str(reason))
        seconds = time.monotonic() - started
        requests = read_requests(workdir)
        urls = [r["url"] for r in requests if r.get("url")]
        foreign = {origin(u) for u in urls if origin(u) != origin(host)}
        not_found = sorted({urlsplit(r["url"]).path for r in requests if r.get("url") and r.get("status") == 404})
        ran, detail = judge(example, code, output, requests)
        broken = behaviour_differences(example, output, requests) + [f"web UI: {miss}" for miss in missed]
        if ran and broken:
            ran, detail = False, "ran, but " + "; ".join(broken)
        if keep:
            detail += f" [kept in {workdir}]"
        return Outcome(example, ran, detail, len(requests), counted_requests(json_path), foreign, not_found, seconds,
                       host)
    finally:
        stop(own_server)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def judge(example: Example, code: int | None, output: str, requests: list[dict]) -> tuple[bool, str]:
    if not example.shape_runs_for:
        if code is None:
            return False, f"did not finish within {RUN_TIMEOUT:.0f} s"
        if code == 0:
            return True, "passed"
        return False, f"exit {code}: {first_error_line(output)}"
    # A minutes-long shape: it must still be running at the end of the window, with traffic flowing.
    if code is not None:
        return False, (f"ended after less than {SHAPE_WINDOW:.0f} s (exit {code}; its shape lasts "
                       f"{example.shape_runs_for:.0f} s): {first_error_line(output)}")
    if example.http and not requests:
        return False, f"no requests in {SHAPE_WINDOW:.0f} s: {first_error_line(output)}"
    said = ("; the session said --load-users/--load-run-time are ignored"
            if re.search(r"--load-users.*--load-run-time.* ignored", output)
            else "; NO notice that --load-users/--load-run-time are ignored")
    return True, (f"still running after {SHAPE_WINDOW:.0f} s, as under Locust (shape lasts "
                  f"{example.shape_runs_for:.0f} s){said}")


def behaviour_differences(example: Example, output: str, requests: list[dict]) -> list[str]:
    """What the run did differently from what the example does under Locust (empty: nothing)."""
    differences = [f"printed nothing matching {pattern!r}" for pattern in example.prints
                   if not re.search(pattern, output, re.MULTILINE)]
    names = {r.get("name") for r in requests}
    differences += [f"no request named {name}" for name in example.names if name not in names]
    differences += [f"requested {name}" for name in example.never if name in names]
    if example.any_name and not names & set(example.any_name):
        differences.append(f"no request named any of {', '.join(example.any_name)}")
    if example.exact_requests is not None and len(requests) != example.exact_requests:
        differences.append(f"{len(requests)} requests instead of {example.exact_requests}")
    return differences


# -- excluded ones: do their pytest_loadhooks imports at least resolve? -------------------------------------

def unresolved_imports(path: Path) -> list[str]:
    """Names a rewritten excluded example imports from pytest_loadhooks that do not exist (not executed)."""
    tree = ast.parse(rewrite_imports(path.read_text()))
    wanted: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pytest_loadhooks"):
            wanted += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            wanted += [(alias.name, None) for alias in node.names if alias.name.startswith("pytest_loadhooks")]
    if not wanted:
        return []
    probe = ("import importlib, json, sys\nmissing = []\n"
             "for module, name in json.loads(sys.argv[1]):\n"
             "    try:\n        m = importlib.import_module(module)\n"
             "        if name and not hasattr(m, name):\n"
             "            importlib.import_module(module + '.' + name)\n"
             "    except Exception:\n        missing.append(module + ('.' + name if name else ''))\n"
             "print(json.dumps(missing))\n")
    result = subprocess.run([sys.executable, "-c", probe, json.dumps(wanted)], capture_output=True, text=True,
                            check=False, timeout=60, env=clean_environment({}, Example("", "")))
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return [f"(probe failed: {first_error_line(result.stderr)})"]


def unlisted_examples(examples_dir: Path) -> list[str]:
    """Python files in the examples directory that are neither selected nor excluded (a new upstream example)."""
    known = {e.path for e in SELECTED} | set(EXCLUDED)
    found = []
    for path in sorted(examples_dir.rglob("*.py")):
        relative = path.relative_to(examples_dir).as_posix()
        if relative not in known and not any(relative.startswith(d) for d in EXCLUDED if d.endswith("/")):
            found.append(relative)
    return found


# -- report -----------------------------------------------------------------------------------------------

def describe(outcome: Outcome, target: str) -> str:
    if outcome.not_run:
        return f"NOT RUN {outcome.example.path:44} {outcome.not_run}"
    status = "ran   " if outcome.ok else "FAILED"
    if outcome.foreign_hosts:
        traffic = f"traffic ALSO to {', '.join(sorted(outcome.foreign_hosts))}"
    elif not outcome.example.http:
        traffic = (f"no HTTP: {outcome.requests_seen} request events of its own" if outcome.requests_seen
                   else "no HTTP (its users send none)")
    elif outcome.requests_seen:
        traffic = f"traffic to {outcome.host or target}: {outcome.requests_seen} requests"
        if outcome.counted is not None:
            traffic += f" ({outcome.counted} counted in --load-json)"
    else:
        traffic = "NO traffic"
    line = f"{status} {outcome.example.path:45} {outcome.seconds:5.1f}s  {traffic}; {outcome.detail}"
    if outcome.not_found:
        line += f"; 404 from the target app for {', '.join(outcome.not_found)}"
    return line


def markdown_row(outcome: Outcome) -> str:
    """The example's row in docs/migrating-from-locust.md's table."""
    example = outcome.example
    if outcome.foreign_hosts:
        traffic = f"also to {', '.join(sorted(outcome.foreign_hosts))}"
    elif not example.http:
        traffic = f"no HTTP: {outcome.requests_seen} request events" if outcome.requests_seen else "none sent (no HTTP)"
    else:
        given = "its own web UI" if example.web == "self" else "the given host"
        traffic = f"{outcome.requests_seen} requests, all to {given}" if outcome.requests_seen else "none"
    result = "runs" if outcome.ok else "**fails**"
    if outcome.not_run:
        result, traffic = f"not run here: {outcome.not_run}", "none"
    if example.shape_runs_for:
        result += f" (shape of {example.shape_runs_for:.0f} s, watched {SHAPE_WINDOW:.0f} s)"
    detail = outcome.detail if not outcome.ok else ""
    not_found = ", ".join(f"`{path}`" for path in outcome.not_found) or ""
    return f"| `{example.path}` | {example.why} | {result} {detail} | {traffic} | {not_found} |"


def print_markdown(outcomes: list[Outcome]) -> None:
    print("| example | what it exercises | result | traffic | 404 from the target app |")
    print("| --- | --- | --- | --- | --- |")
    for outcome in outcomes:
        print(markdown_row(outcome).replace("  |", " |"))
    print()
    for path, reason in EXCLUDED.items():
        print(f"- `{path}`: {reason}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, default=DEFAULT_EXAMPLES, help="Locust's examples directory")
    parser.add_argument("--only", nargs="*", help="run just these examples (paths as listed)")
    parser.add_argument("--keep", action="store_true", help="keep each example's temporary directory")
    parser.add_argument("--no-excluded", action="store_true", help="skip the import check of excluded examples")
    parser.add_argument("--markdown", action="store_true", help="also print the results as the migration guide's table")
    args = parser.parse_args(argv)
    if not args.examples.is_dir():
        parser.error(f"{args.examples} is not a directory (unpack Locust's repository there)")

    selected = [e for e in SELECTED if not args.only or e.path in args.only]
    target_process, target = start_target(max_seconds=60 + len(selected) * (RUN_TIMEOUT + SHAPE_WINDOW))
    server_dir = Path(tempfile.mkdtemp(prefix="locust-example-servers-"))
    servers, places = start_servers({name for e in selected for name in e.servers}, server_dir, args.examples)
    places["target"] = target
    failures = 0
    outcomes: list[Outcome] = []
    try:
        print(f"target app: {target}")
        for example in selected:
            if not (args.examples / example.path).exists():
                print(f"MISSING {example.path}")
                failures += 1
                continue
            outcome = run_example(example, args.examples, places, args.keep)
            outcomes.append(outcome)
            failures += not outcome.ok
            print(describe(outcome, target), flush=True)
    finally:
        target_process.terminate()
        target_process.wait(5)
        stop_servers(servers)
        shutil.rmtree(server_dir, ignore_errors=True)

    if not args.only and not args.no_excluded:
        print("\nexcluded (not run):")
        for path, reason in EXCLUDED.items():
            file = args.examples / path
            resolved = ""
            if file.is_file():
                missing = unresolved_imports(file)
                resolved = f" [imports missing here: {', '.join(missing)}]" if missing else " [imports resolve]"
            print(f"  {path}: {reason}{resolved}")
        for path in unlisted_examples(args.examples):
            print(f"  {path}: NOT CLASSIFIED (new upstream example? add it to SELECTED or EXCLUDED)")

    if args.markdown:
        print()
        print_markdown(outcomes)
    not_run = sum(1 for outcome in outcomes if outcome.not_run)
    print(f"\n{len(selected) - failures - not_run} of {len(selected)} selected examples ran and loaded only the given "
          f"host" + (f"; {not_run} could not run here (NOT RUN, with the reason)" if not_run else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
