"""One node of a distributed run, as a process of its own, for tests/test_distributed_engine.py.

    python tests/distributed_node.py master|worker|intruder '<json config>'

A master or worker builds an Environment around the user classes below, runs, and writes
what it saw as JSON to ``config["out"]``; the test compares the files. An intruder sends
the master what it must refuse. Each node is a real process with its own gevent hub, as
in production.
"""

from gevent import monkey

monkey.patch_all()  # first, as in every gevent program: the imports below get the patched modules

import json
import logging
import os
import socket
import sys
from argparse import Namespace

import gevent

from pytest_loadhooks import Environment, Events, HttpUser, LoadTestShape, constant, task


class Browse(HttpUser):
    weight = 3
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")


class Buy(HttpUser):
    weight = 1
    wait_time = constant(0.05)

    @task
    def cart(self):
        self.client.get("/cart")


class Admin(HttpUser):
    fixed_count = 1
    wait_time = constant(0.05)

    @task
    def data(self):
        self.client.get("/api/data")


USER_CLASSES = [Browse, Buy, Admin]


class TwoSteps(LoadTestShape):
    """2 users (all Browse) until a second worker joins, then 4 for a second and a half, then
    the end of the run: a shape driven from the master, reading the master's runner."""

    second_step_at = None

    def tick(self):
        if self.runner.worker_count < 2 and self.get_run_time() < 30:
            return 2, 100, [Browse]
        if self.second_step_at is None:
            self.second_step_at = self.get_run_time()
        if self.get_run_time() - self.second_step_at < 1.5:
            return 4, 100, [Browse]
        return None


def write(path, data):
    with open(path + ".tmp", "w") as file:
        json.dump(data, file)
    # Renamed into place: a reader (or a SIGKILL) never sees half a file.
    os.replace(path + ".tmp", path)


def timing(config):
    return {name: config[name] for name in ("heartbeat_interval", "heartbeat_timeout") if name in config}


def run_master(config):
    events = Events()
    env = Environment(user_classes=USER_CLASSES, events=events, host=config["target"],
                      shape_class=TwoSteps() if config.get("shape") else None,
                      parsed_options=Namespace(**config.get("options", {})))
    seen = {"connected": [], "reports": {}, "custom_in_report": [], "spawning_complete": [], "pongs": [],
            "test_start": 0, "test_stop": 0, "heartbeats_sent": 0}

    def on_worker_report(client_id, data, **_kwargs):
        tally = data.get("tally")
        if tally is not None:
            seen["reports"].setdefault(client_id, []).append(
                {**tally, "merged": data["stats"]["total"]["num_requests"]})
        if "custom" in data:
            seen["custom_in_report"].append(data["custom"])

    def on_spawning_complete(user_count, **_kwargs):
        runner = env.runner
        seen["spawning_complete"].append({
            "user_count": user_count,
            "by_worker": {node.id: dict(node.user_classes_count) for node in runner.clients.active},
        })

    events.worker_connect.add_listener(lambda client_id, **_: seen["connected"].append(client_id))
    events.worker_report.add_listener(on_worker_report)
    events.spawning_complete.add_listener(on_spawning_complete)
    events.test_start.add_listener(lambda **_: seen.__setitem__("test_start", seen["test_start"] + 1))
    events.test_stop.add_listener(lambda **_: seen.__setitem__("test_stop", seen["test_stop"] + 1))
    events.heartbeat_sent.add_listener(lambda **_: seen.__setitem__("heartbeats_sent", seen["heartbeats_sent"] + 1))

    master = env.create_master_runner("127.0.0.1", config["port"], config.get("secret"),
                                      max_message_size=config.get("max_message_size", 64 * 1024 * 1024),
                                      **timing(config))
    master.register_message("pong", lambda environment, msg, **_: seen["pongs"].append(
        {"from": msg.node_id, "data": msg.data}))
    if not master.wait_for_workers(config["workers"], timeout=30):
        raise SystemExit(f"only {master.worker_count} workers came")
    if env.shape_class is not None:
        master.start_shape()
    else:
        master.start(config["users"], config["spawn_rate"])
    while not master.spawning_completed:
        gevent.sleep(0.02)
    if "started_file" in config:
        write(config["started_file"], {"workers": [node.id for node in master.clients.active]})
    if config.get("custom_message"):
        master.send_message("ping", {"hello": "everyone"})
        first = master.clients.active[0].id
        master.send_message("ping", {"hello": "just you"}, client_id=first)
    if env.shape_class is not None:
        if not master.wait(30):
            raise SystemExit("the shape did not end the run")
    elif config.get("until_missing"):
        # Until a worker (killed by the test) is marked missing and its users have moved, then a little more.
        while not (master.clients.missing and master.spawning_completed):
            gevent.sleep(0.05)
        gevent.sleep(0.5)
    else:
        gevent.sleep(config["run_time"])
    while "hold_until" in config and not os.path.exists(config["hold_until"]):  # e.g. the intruder is done
        gevent.sleep(0.05)
    master.stop()
    result = {
        "seen": seen,
        "total": master.stats.total.num_requests,
        "failures": master.stats.total.num_failures,
        "entries": {f"{e.method} {e.name}": e.num_requests for e in master.stats.entries.values()},
        "clients": {node.id: {"state": node.state, "index": node.index} for node in master.clients.values()},
        "worker_count": master.worker_count,
        "dropped_messages": master.dropped_messages,
        "exit_code": master.exit_code,
        "state": master.state,
    }
    master.quit()
    write(config["out"], result)


def run_worker(config):
    events = Events()
    env = Environment(user_classes=USER_CLASSES, events=events,
                      parsed_options=Namespace(custom_opt="worker default"))
    tally = {"requests": 0, "reports": 0, "pings": [], "option_at_start": None}

    def on_request(**_kwargs):
        tally["requests"] += 1

    def on_report(client_id, data, **_kwargs):
        tally["reports"] += 1
        data["tally"] = {"seq": tally["reports"], "cumulative": tally["requests"]}
        data["custom"] = f"hello from {client_id}"

    def on_ping(environment, msg, **_kwargs):
        tally["pings"].append(msg.data)
        environment.runner.send_message("pong", {"got": msg.data, "option": environment.parsed_options.custom_opt})

    events.request.add_listener(on_request)
    events.report_to_master.add_listener(on_report)
    events.test_start.add_listener(
        lambda environment, **_: tally.__setitem__("option_at_start", environment.parsed_options.custom_opt))
    worker = env.create_worker_runner("127.0.0.1", config["port"], config.get("secret"),
                                      stats_report_interval=config.get("stats_report_interval", 0.3),
                                      connect_timeout=20, **timing(config))
    worker.register_message("ping", on_ping)
    write(config["out"], {"client_id": worker.client_id})
    code = worker.run()
    write(config["out"], {"client_id": worker.client_id, **tally, "exit_code": code,
                          "reported_total": worker.reported_stats.total.num_requests,
                          "master_lost": worker.master_lost, "worker_index": worker.worker_index})
    sys.exit(code)


def run_intruder(config):
    """Everything the master must drop, sent while the real workers run."""
    import msgpack
    import zmq.green as zmq

    from pytest_loadhooks.rpc import CurveKeys
    from pytest_loadhooks.rpc.security import make_curve_client

    while not os.path.exists(config["wait_for"]):  # the run is on: the master must shrug all this off
        gevent.sleep(0.05)
    port = config["port"]
    # 1. Bytes that are not ZeroMQ at all.
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 4)
        gevent.sleep(0.2)
    context = zmq.Context()

    def dealer(identity, secret):
        sock = context.socket(zmq.DEALER)
        sock.linger = 500
        sock.routing_id = identity.encode()
        if secret:
            make_curve_client(sock, CurveKeys.from_secret(secret))
        sock.connect(f"tcp://127.0.0.1:{port}")
        return sock

    # 2. A worker with the wrong secret, trying to join.
    wrong = dealer("intruder-wrong-secret", "not the secret")
    wrong.send(msgpack.packb(["client_ready", {"version": "0.1.0", "state": "ready"}, "intruder-wrong-secret"]))
    # 3. A peer holding the secret, sending what is not a message, or too much of one.
    sender = dealer("intruder-garbage", config.get("secret"))
    limit = config["max_message_size"]
    for frame in (b"\xc1\xc1 not msgpack", msgpack.packb({"not": "a list"}),
                  msgpack.packb(["stats", {"stats": "garbage"}, "intruder-garbage"]),
                  msgpack.packb(["stats", {"stats": "garbage"}, "someone-else"]),
                  msgpack.packb(["client_ready", None, "intruder-garbage"]),
                  msgpack.packb(["x" * 1000, None, "intruder-garbage"]),
                  msgpack.packb(["stats", "y" * (limit + 1000), "intruder-garbage"])):
        sender.send(frame)
        gevent.sleep(0.05)
    gevent.sleep(0.3)
    # 4. One far over the limit: the transport drops the connection rather than buffer it.
    big = dealer("intruder-huge", config.get("secret"))
    big.send(b"z" * (limit * 4))
    gevent.sleep(0.5)
    for sock in (wrong, sender, big):
        sock.close(linger=0)
    context.term()
    write(config["out"], {"done": True})


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    role, config = sys.argv[1], json.loads(sys.argv[2])
    {"master": run_master, "worker": run_worker, "intruder": run_intruder}[role](config)
