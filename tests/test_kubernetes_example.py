"""The Kubernetes example (examples/kubernetes/), checked without a cluster.

Every manifest is validated offline against the Kubernetes API schemas that the
kubernetes-validate package bundles (strict: an unknown field is an error, as a typo would
be). Then what the schemas cannot see: the master and the workers agree on the port, the
Service, the Secret and the number of workers; no secret value is written anywhere; the
command lines use only options this plugin has, with values it accepts; the ConfigMap's
test file really runs; the image is the version the manifests name.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pytest_loadhooks.plugin.options import OPTIONS, parse_duration

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "kubernetes"
SECRET_TEMPLATE = EXAMPLE / "secret.yaml.example"
KUBERNETES_VERSION = "1.33.0"  # a recent release, bundled by kubernetes-validate >= 1.33
LOAD_OPTIONS = {option.cli: option for option in OPTIONS}
SECRET_ENV = "LOADHOOKS_SECRET"


# -- reading the example --
def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def applied_files() -> list[Path]:
    """What `kubectl apply -f examples/kubernetes/` applies: the top directory's .yaml files."""
    return sorted(EXAMPLE.glob("*.yaml"))


def all_manifest_files() -> list[Path]:
    return [*applied_files(), *sorted((EXAMPLE / "tools").glob("*.yaml")), SECRET_TEMPLATE]


def applied(kind: str) -> list[dict[str, Any]]:
    return [doc for path in applied_files() for doc in documents(path) if doc["kind"] == kind]


def the_one(kind: str) -> dict[str, Any]:
    found = applied(kind)
    assert len(found) == 1, f"expected one {kind} in {EXAMPLE}, found {len(found)}"
    return found[0]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{workload['metadata']['name']}: one container expected"
    return containers[0]


def master() -> dict[str, Any]:
    return the_one("Job")


def worker() -> dict[str, Any]:
    return the_one("Deployment")


def load_args(workload: dict[str, Any]) -> dict[str, str | None]:
    """The ``--load-*`` arguments of a workload's command line: name -> value (None for a flag)."""
    found: dict[str, str | None] = {}
    for argument in container(workload).get("args", []):
        if argument.startswith("--load-"):
            name, _, value = argument.partition("=")
            found[name] = value if "=" in argument else None
    return found


def pytest_options_in_help() -> set[str]:
    """Every option name ``pytest --help`` lists, this plugin's included."""
    help_text = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
                               capture_output=True, text=True, timeout=120, cwd=EXAMPLE, check=True).stdout
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_text))


# -- the schemas --
@pytest.mark.parametrize("path", all_manifest_files(), ids=lambda path: str(path.relative_to(EXAMPLE)))
def test_manifest_is_valid_against_the_kubernetes_schemas(path):
    docs = documents(path)
    assert docs, f"{path.name} holds no manifest"
    for doc in docs:
        validated_against = kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert validated_against == KUBERNETES_VERSION.rsplit(".", 1)[0]


def test_the_schema_check_catches_a_typo():
    """Not vacuous: a misspelt field and a wrong type, as a hand edit would make them, are refused."""
    typo = documents(EXAMPLE / "40-worker-deployment.yaml")[0]
    typo["spec"]["replica"] = typo["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        kubernetes_validate.validate(typo, KUBERNETES_VERSION, strict=True)
    wrong_type = documents(EXAMPLE / "30-master-service.yaml")[0]
    wrong_type["spec"]["ports"][0]["port"] = "five thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSION, strict=True)


def test_everything_lives_in_the_example_namespace():
    namespace = the_one("Namespace")["metadata"]["name"]
    assert applied_files()[0].name.startswith("00-"), "the Namespace must be applied before what lives in it"
    others = [doc for path in all_manifest_files() for doc in documents(path) if doc["kind"] != "Namespace"]
    assert {doc["metadata"].get("namespace") for doc in others} == {namespace}


# -- master and workers agree --
def test_workers_dial_the_master_service_on_the_port_the_master_binds():
    service = the_one("Service")
    master_container = container(master())
    master_args, worker_args = load_args(master()), load_args(worker())
    bind_port = int(master_args["--load-master-bind-port"])
    [port_spec] = service["spec"]["ports"]
    [container_port] = master_container["ports"]

    assert container_port["containerPort"] == bind_port
    assert port_spec["targetPort"] in (container_port["name"], bind_port)
    assert int(worker_args["--load-master-port"]) == port_spec["port"]
    assert worker_args["--load-master-host"] == service["metadata"]["name"]
    # Bound on every interface of the pod, or the Service could not reach it.
    assert master_args["--load-master-bind-host"] == "0.0.0.0"


def test_the_master_service_selects_the_master_pod_only():
    selector = the_one("Service")["spec"]["selector"]
    master_labels = master()["spec"]["template"]["metadata"]["labels"]
    worker_labels = worker()["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= master_labels.items()
    assert not selector.items() <= worker_labels.items()
    assert worker()["spec"]["selector"]["matchLabels"].items() <= worker_labels.items()


def test_only_workers_may_reach_the_master_port():
    policy = the_one("NetworkPolicy")["spec"]
    master_labels = master()["spec"]["template"]["metadata"]["labels"]
    worker_labels = worker()["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= master_labels.items()
    [rule] = policy["ingress"]
    [source] = rule["from"]
    assert source["podSelector"]["matchLabels"].items() <= worker_labels.items()
    [port] = rule["ports"]
    assert port["port"] in (container(master())["ports"][0]["name"], container(master())["ports"][0]["containerPort"])


def test_the_master_waits_for_exactly_the_workers_the_deployment_runs():
    assert int(load_args(master())["--load-expect-workers"]) == worker()["spec"]["replicas"]


def test_workers_wait_for_the_master_at_least_as_long_as_it_waits_for_them():
    master_wait = parse_duration(load_args(master())["--load-expect-workers-timeout"])
    default = LOAD_OPTIONS["--load-expect-workers-timeout"].default
    worker_wait = parse_duration(load_args(worker()).get("--load-expect-workers-timeout") or default)
    assert worker_wait >= master_wait


def test_the_job_deadline_leaves_room_for_waiting_and_the_run():
    args = load_args(master())
    needed = parse_duration(args["--load-expect-workers-timeout"]) + parse_duration(args["--load-run-time"])
    assert master()["spec"]["activeDeadlineSeconds"] > needed
    assert master()["spec"]["backoffLimit"] == 0, "a failed load test must not be run again behind the user's back"


def test_both_sides_read_the_same_secret_key():
    template = documents(SECRET_TEMPLATE)[0]
    [key] = template["stringData"]
    expected = {"name": template["metadata"]["name"], "key": key}
    for workload in (master(), worker()):
        [variable] = [env for env in container(workload)["env"] if env["name"] == SECRET_ENV]
        assert variable["valueFrom"]["secretKeyRef"] == expected, workload["metadata"]["name"]


# -- no secret in the files --
def test_no_secret_value_is_written_in_the_manifests():
    assert not applied("Secret"), "a Secret applied from a file in git is a secret in git"
    for path in [*applied_files(), *sorted((EXAMPLE / "tools").glob("*.yaml"))]:
        for doc in documents(path):
            for workload_container in _containers(doc):
                assert not any(arg.startswith("--load-secret") for arg in workload_container.get("args", [])), \
                    f"{path.name}: a secret on the command line shows in every process listing"
                for env in workload_container.get("env", []):
                    if env["name"] == SECRET_ENV:
                        assert "value" not in env and "secretKeyRef" in env["valueFrom"], path.name


def test_the_secret_template_holds_a_placeholder_and_the_readme_says_how_to_make_one():
    template = documents(SECRET_TEMPLATE)[0]
    assert "data" not in template, "a base64 value in the template would look like a real secret"
    [value] = template["stringData"].values()
    assert value.startswith("REPLACE"), "the template's value must be an obvious placeholder"
    name, [key] = template["metadata"]["name"], template["stringData"]
    readme = (EXAMPLE / "README.md").read_text()
    command = re.search(r"kubectl (?:-n \S+ )?create secret generic (\S+) \\?\s*--from-literal=(\w+)=", readme)
    assert command, "README.md must show how to create the Secret"
    assert (command.group(1), command.group(2)) == (name, key)
    assert "openssl rand" in readme


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", spec)
    return pod.get("containers", [])


# -- the command lines --
@pytest.mark.parametrize("role", ["master", "worker"])
def test_command_lines_use_only_options_that_exist_with_values_they_accept(role):
    workload = master() if role == "master" else worker()
    assert container(workload)["command"] == ["pytest"]
    for name, value in load_args(workload).items():
        assert name in LOAD_OPTIONS, f"{role}: {name} is not an option of pytest-loadhooks"
        option = LOAD_OPTIONS[name]
        if option.flag:
            assert value is None, f"{role}: {name} is a flag, it takes no value"
        elif option.parse is not None:
            option.parse(value)  # raises, naming the value, when the plugin would refuse it at start-up
    assert ("--load-master" if role == "master" else "--load-worker") in load_args(workload)
    others = {arg.partition("=")[0] for arg in container(workload)["args"]
              if arg.startswith("-") and not arg.startswith("--load-")}
    unknown = others - pytest_options_in_help()
    assert not unknown, f"{role}: options pytest does not know: {sorted(unknown)}"


def test_the_run_settings_come_from_the_master_only():
    """Users, run time and host are the master's to decide; a worker that set them would be ignored or confuse."""
    run_settings = {option.cli for option in OPTIONS if option.run_setting}
    assert not run_settings & load_args(worker()).keys()
    assert {"--load-users", "--load-run-time", "--load-host"} <= load_args(master()).keys()


# -- the test file in the ConfigMap --
def configmap_test_files() -> dict[str, str]:
    data = the_one("ConfigMap")["data"]
    return {name: text for name, text in data.items() if name.startswith("test_") and name.endswith(".py")}


def test_the_configmap_test_file_defines_a_user_class():
    files = configmap_test_files()
    assert files, "the ConfigMap must hold at least one test_*.py file for pytest to collect"
    for name, source in files.items():
        tree = ast.parse(source, filename=name)  # a SyntaxError fails the test, naming the line
        namespace: dict[str, Any] = {"__name__": name[:-3]}
        exec(compile(tree, name, "exec"), namespace)  # noqa: S102 - our own example, as pytest would import it
        from pytest_loadhooks import User

        users = [value for value in namespace.values()
                 if isinstance(value, type) and issubclass(value, User) and not value.__dict__.get("abstract")
                 and value.__module__ == name[:-3]]
        assert users, f"{name} defines no concrete User class"


def test_the_configmap_test_file_runs_against_a_real_target(pytester, target):
    """The example's users load every route they name without a failure (here against the test target)."""
    for name, source in configmap_test_files().items():
        pytester.makepyfile(**{name[:-3]: source})
    result_file = pytester.path / "result.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--load-host={target}", "--load-users=3", "--load-spawn-rate=100",
        "--load-run-time=1.5s", f"--load-json={result_file}")
    assert result.ret == 0, result.stdout.str()
    document = json.loads(result_file.read_text())
    assert document["total"]["num_requests"] >= 3
    assert document["total"]["num_failures"] == 0


# -- the image --
def test_the_image_installs_the_version_the_manifests_run():
    dockerfile = (EXAMPLE / "Dockerfile").read_text()
    project_version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    assert re.search(rf"^ARG LOADHOOKS_VERSION={re.escape(project_version)}$", dockerfile, re.MULTILINE)
    assert re.search(r'pip install "pytest-loadhooks==\$\{LOADHOOKS_VERSION\}"', dockerfile)
    user = int(re.search(r"^USER (\d+)$", dockerfile, re.MULTILINE).group(1))
    for path in [*applied_files(), *sorted((EXAMPLE / "tools").glob("*.yaml"))]:
        for doc in documents(path):
            pod = doc.get("spec", {}).get("template", {}).get("spec", doc.get("spec", {}))
            for workload_container in pod.get("containers", []):
                # One tag everywhere: master and workers of different versions may not speak the same protocol.
                assert workload_container["image"].endswith(f":{project_version}"), path.name
                assert pod["securityContext"]["runAsUser"] == user, path.name
