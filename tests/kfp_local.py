"""Runs a compiled KFP V2 PipelineJob on this machine, task by task, the way a KFP backend would.

What a KFP backend does for each task, done here with local paths: take the task's container command and
arguments from the spec, build its `ExecutorInput` (parameters from the spec's constants, input artifacts from
the producers' executor outputs, output artifacts under the pipeline root), put it in place of the `{{$}}`
placeholder, run the ExampleGen driver (the `preCacheCheck` lifecycle hook) first where the spec has one, and
evaluate `triggerPolicy.condition` to skip a task. The image is this checkout's virtualenv: `python` in the
command is this interpreter.

What differs from a backend, to save time: a backend starts each task in a fresh container, whose interpreter
spends 7-19 s importing TensorFlow and TFX before the task's real work. Here one step runs as a fresh
`subprocess.run` of its literal command line: the executor of the first task that runs (CsvExampleGen). Its command
is Glassbox's entrypoint (`python -m pipeline.runners.kubeflow_entrypoint`), which every task's container runs, so
the entrypoint is shown to work from a clean interpreter, without anything a warmed-up one imported before it.
Every other step whose command is `python -m MODULE` (CsvExampleGen's driver hook included) is forked from a fork
server (`ForkServer`): one process per run that imports TensorFlow, TFX and the command modules once, and forks a
child per step that runs the module as `python -m` would (`runpy`, `sys.argv`, the step's environment and working
directory, output to the task's log, its exit status or the signal that killed it reported back). A command of any
other form still runs as a plain subprocess. The server only imports: it never runs a TensorFlow op, and before
each fork it checks that no thread has started since its imports (no TensorFlow runtime thread, `tf_*`, and no
Python thread besides its own), so that no child inherits a thread pool that fork leaves broken.

What only a KFP backend can do is left out: resolver tasks are queries of the backend's metadata store over
earlier runs, and resolve to no artifact, as on a pipeline's first run; nothing is recorded in MLMD.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import re
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from graphlib import TopologicalSorter
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2 as pb

PLACEHOLDER = "{{$}}"
# Imported once by the fork server besides the command modules: what makes a task's interpreter slow to start.
HEAVY_MODULES = ("tensorflow", "tfx")


class TaskFailedError(RuntimeError):
    pass


def _artifact_type(definitions, key: str) -> dict:
    return definitions["artifacts"][key]["artifactType"]


def _cel_to_python(condition: str) -> str:
    """The CEL that TFX writes for a Cond (comparisons, &&, ||, !) as the same Python expression."""
    return re.sub(r"!(?!=)", " not ", condition.replace("&&", " and ").replace("||", " or "))


def condition_holds(condition: str, inputs: Dict[str, List[dict]]) -> bool:
    artifacts = {
        key: SimpleNamespace(artifacts=[SimpleNamespace(metadata=a.get("metadata", {}), uri=a["uri"]) for a in arts])
        for key, arts in inputs.items()
    }
    return bool(eval(_cel_to_python(condition), {"__builtins__": {}}, {"inputs": SimpleNamespace(artifacts=artifacts)}))


def python_module(command: List[str]) -> str | None:
    """MODULE if `command` is `python -m MODULE` (what the fork server runs), else None."""
    return command[2] if len(command) == 3 and command[:2] == ["python", "-m"] else None


def _container_steps(container: dict) -> List[dict]:
    """The steps of a task's container, in order: the driver hook (`preCacheCheck`) where there is one, then the
    container's own command."""
    return ([container["lifecycle"]["preCacheCheck"]] if "lifecycle" in container else []) + [container]


def run_pipeline_job(job_path: Path, work_dir: Path, env: dict, timeout_s: int = 900) -> Dict[str, str]:
    """Runs every task of the PipelineJob at `job_path`; returns each task's state (done, skipped, resolved).

    The first task's executor runs as a fresh subprocess of its literal command line; every other `python -m`
    step is forked from one fork server (see the module's docstring)."""
    job = json.loads(Path(job_path).read_text())
    json_format.ParseDict(job, pb.PipelineJob())  # strict: a spec the backend would refuse stops here
    spec = job["pipelineSpec"]
    tasks = spec["root"]["dag"]["tasks"]
    executors = spec["deploymentSpec"]["executors"]
    pipeline_root = job["runtimeConfig"]["gcsOutputDirectory"]
    outputs: Dict[str, Dict[str, List[dict]]] = {}  # task -> output key -> runtime artifacts
    states: Dict[str, str] = {}
    order = TopologicalSorter({name: task.get("dependentTasks", []) for name, task in tasks.items()}).static_order()
    command_modules = sorted({
        module for executor in executors.values() if "container" in executor
        for step in _container_steps(executor["container"]) if (module := python_module(step["command"]))
    })
    work_dir.mkdir(parents=True, exist_ok=True)
    with ForkServer(command_modules, env, work_dir / "fork_server.log") as server:
        for name in order:
            task = tasks[name]
            component = spec["components"][task["componentRef"]["name"]]
            executor = executors[component["executorLabel"]]
            if "resolver" in executor:
                outputs[name] = {key: [] for key in executor["resolver"]["outputArtifactQueries"]}
                states[name] = "resolved"
                continue
            inputs = {}
            for key, source in task.get("inputs", {}).get("artifacts", {}).items():
                producer = source["taskOutputArtifact"]
                produced = outputs[producer["producerTask"]].get(producer["outputArtifactKey"], [])
                artifact_type = _artifact_type(component["inputDefinitions"], key)
                inputs[key] = [{**artifact, "type": artifact_type} for artifact in produced]
            condition = task.get("triggerPolicy", {}).get("condition")
            if condition and not condition_holds(condition, inputs):
                outputs[name], states[name] = {}, "skipped"
                continue
            task_dir = work_dir / name
            task_outputs = {
                key: [{"name": f"{name}-{key}", "uri": f"{pipeline_root}/{name}/{key}",
                       "type": _artifact_type(component["outputDefinitions"], key)}]
                for key in component.get("outputDefinitions", {}).get("artifacts", {})
            }
            executor_input = {
                "inputs": {
                    "parameters": {
                        key: value["runtimeValue"]["constantValue"]
                        for key, value in task.get("inputs", {}).get("parameters", {}).items()
                    },
                    "artifacts": {key: {"artifacts": arts} for key, arts in inputs.items()},
                },
                "outputs": {
                    "artifacts": {key: {"artifacts": arts} for key, arts in task_outputs.items()},
                    "outputFile": str(task_dir / "executor_output.json"),
                },
            }
            json_format.ParseDict(executor_input, pb.ExecutorInput())  # what the backend would hand over
            container = executor["container"]
            first = "done" not in states.values()  # CsvExampleGen: its executor runs fresh, see the module's docstring
            for step in _container_steps(container):
                _run_container_step(name, step, json.dumps(executor_input), task_dir, env, timeout_s,
                                    server=None if first and step is container else server)
            output = json.loads((task_dir / "executor_output.json").read_text())
            outputs[name] = {
                key: [{**given[0], **output.get("artifacts", {}).get(key, {}).get("artifacts", [{}])[0]}]
                for key, given in task_outputs.items()
            }
            states[name] = "done"
    return states


def _run_container_step(name: str, step: dict, executor_input: str, task_dir: Path, env: dict, timeout_s: int,
                        server: ForkServer | None = None):
    """Runs one step, its output appended to the task's log.txt: forked from `server` if the command is
    `python -m MODULE`, else (and without a server) the literal command line in a fresh subprocess."""
    command = [sys.executable if part == "python" else part for part in step["command"]]
    args = [executor_input if arg == PLACEHOLDER else arg for arg in step.get("args", [])]
    module = python_module(step["command"])
    task_dir.mkdir(parents=True, exist_ok=True)
    log_path = task_dir / "log.txt"
    try:
        if server is not None and module is not None:
            returncode = server.run(module, args, env, log_path, timeout_s)
        else:
            with log_path.open("a") as log:
                returncode = subprocess.run([*command, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                            timeout=timeout_s).returncode
    except (subprocess.TimeoutExpired, TimeoutError):  # the process was killed
        failure = f"timed out after {timeout_s} s"
    else:
        failure = f"exited {returncode}" if returncode != 0 else None
    if failure:
        tail = log_path.read_text()[-4000:]
        raise TaskFailedError(f"task {name} ({' '.join(step['command'])}) {failure}:\n{tail}")


class _JsonLines:
    """JSON objects, one a line, read from a file descriptor, with a deadline."""

    def __init__(self, fd: int):
        self.fd, self.buffer = fd, b""

    def read(self, timeout_s: float | None = None) -> dict | None:
        """The next object, None at the end of the stream; TimeoutError if none came within `timeout_s`."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while b"\n" not in self.buffer:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    raise TimeoutError
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


class ForkServer:
    """One process that imports TensorFlow, TFX and `command_modules` once, then forks a child per step that runs
    a module as `python -m MODULE ARGS...` would.

    It runs this file as a script (see `_serve`) with the tasks' environment, and its own output goes to
    `log_path`. Requests and replies are JSON lines on its stdin and stdout: {"module", "args", "env", "cwd",
    "log"} in; {"pid"} when the child started, then {"returncode"} (negative: killed by that signal) when it ended,
    or {"error"} if the server refuses to fork. It starts in the background; the first `run` waits for it."""

    def __init__(self, command_modules: List[str], env: dict, log_path: Path):
        self.log_path = Path(log_path)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, __file__, *command_modules], env=env,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
        self.replies = _JsonLines(self.process.stdout.fileno())
        self.ready: dict | None = None  # the server's first reply: the threads it has after its imports
        self.child: int | None = None

    def _reply(self, timeout_s: float | None = None) -> dict:
        reply = self.replies.read(timeout_s)
        if reply is None:
            tail = self.log_path.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"the fork server exited ({self.process.wait()}):\n{tail}")
        if "error" in reply:
            raise RuntimeError(f"the fork server refused: {reply['error']}")
        return reply

    def run(self, module: str, args: List[str], env: dict, log_path: Path, timeout_s: float) -> int:
        """Runs `python -m module *args` in a child forked from the server, output appended to `log_path`; returns
        its exit status. TimeoutError (the child killed) if it did not end within `timeout_s`."""
        if self.ready is None:
            self.ready = self._reply()
        request = {"module": module, "args": args, "env": dict(env), "cwd": os.getcwd(), "log": str(log_path)}
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the server is gone: reading its reply says why
        self.child = self._reply()["pid"]
        try:
            return self._reply(timeout_s)["returncode"]
        except TimeoutError:
            os.kill(self.child, signal.SIGKILL)
            self._reply()  # the server reaped it
            raise
        finally:
            self.child = None

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.child is not None:  # interrupted while a child ran
            os.kill(self.child, signal.SIGKILL)
        self.process.stdin.close()  # the server's end of requests: it exits
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


def _threads() -> Dict[str, str]:
    """This process's threads: id -> name (TensorFlow's runtime threads are named tf_*)."""
    tasks = Path("/proc/self/task")
    return {tid.name: (tid / "comm").read_text().strip() for tid in tasks.iterdir()}


def _serve(command_modules: List[str]) -> dict | None:
    """The fork server's loop (this file run as a script). Returns a request in each forked child, None in the
    server when its stdin ends.

    It imports HEAVY_MODULES and the command modules, then forgets the command modules (drops them from
    sys.modules) so that each child runs its module's own code fresh as __main__, as `python -m` does, with only
    their imports cached. Importing starts native thread pools that are made for fork (OpenBLAS's and pyarrow's
    jemalloc's, which handle it with pthread_atfork) and no TensorFlow runtime thread: those start with the first
    op, which the server never runs. Before each fork it checks that no thread has started since the imports (the
    pools may have stopped: OpenBLAS stops its own on a fork), none is TensorFlow's and no Python thread runs
    besides this one, and refuses to fork otherwise."""
    sys.path[0] = os.getcwd()  # what `python -m` puts first on the path (a script gets its own folder)
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)  # whatever an import prints goes to the server's log, not into the replies

    def reply(**message):
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    for module in [*HEAVY_MODULES, *command_modules]:
        importlib.import_module(module)
    for module in command_modules:
        del sys.modules[module]
        parent, _, child = module.rpartition(".")
        if parent and hasattr(sys.modules[parent], child):
            delattr(sys.modules[parent], child)
    # A child's collections (the last one at its exit) skip what the imports made: they would otherwise walk and
    # so copy all of it, 2-3 s per child.
    gc.freeze()
    after_imports = _threads()
    reply(ready=True, threads=sorted(after_imports.values()))
    while line := requests.readline():
        request = json.loads(line)
        threads = _threads()
        if not threads.items() <= after_imports.items() or threading.active_count() > 1 or any(
                name.startswith("tf_") for name in threads.values()):
            reply(error=f"threads besides this one before fork: {sorted(threads.values())} (after the imports: "
                        f"{sorted(after_imports.values())}; Python threads: {threading.enumerate()})")
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            requests.close()
            replies.close()
            os.close(null)
            return request
        reply(pid=pid)
        _, status = os.waitpid(pid, 0)
        reply(returncode=os.waitstatus_to_exitcode(status))
    return None


def _run_module(request: dict) -> None:
    """In a forked child: becomes `python -m MODULE ARGS...` with the step's environment, working directory and
    log, and runs it. Its exit is the interpreter's: a SystemExit's code, or 1 with the traceback in the log."""
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    tempfile.tempdir = None  # read from TMPDIR again
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    if "numpy" in sys.modules:  # a fresh interpreter's seed, not the one every child shares with the server
        sys.modules["numpy"].random.seed()
    sys.argv = [request["module"], *request["args"]]  # runpy puts the module's path first, as `python -m` does
    runpy.run_module(request["module"], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    task = _serve(sys.argv[1:])
    if task is not None:
        _run_module(task)
