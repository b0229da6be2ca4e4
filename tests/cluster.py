"""The assistant's processes started one by one, so a test can kill and restart any of them.

`Stack` is one Rasa server, one action server and the console on one database, as `make run` starts
them but without the launcher (which stops everything when one child dies). `Cluster` is what a
hospital runs on several machines: two Rasa instances and two action servers behind Debian's nginx
(started here as a foreground process with a generated config that includes the location rules of
deploy/nginx/snippets/), PostgreSQL and the Redis lock store, and the console talking to Rasa through
nginx. Both use the launcher's own command lines (`bot.launcher.commands`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional
from unittest import mock

from bot import launcher, policies, settings
from bot.store import migrate
from tests.conftest import MODEL, ROOT, STAFF_PASSWORD, STAFF_USER, free_port, post_json
from tests.services import unavailable

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_SNIPPETS = ROOT / "deploy" / "nginx" / "snippets"
DEPLOY_ENDPOINTS = ROOT / "deploy" / "endpoints.yml"
RASA_READY_SECONDS = 300
READY_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 60


def http_json(url: str, method: str = "GET", payload: Any = None, headers: Optional[Dict[str, str]] = None) -> Any:
    data = None if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
        return json.loads(response.read().decode("utf-8"))


def answers(url: str) -> bool:
    """True once `url` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return False


def responds(url: str) -> bool:
    """True once anything answers HTTP at `url`, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return False


def rasa_answers(url: str, token: str) -> bool:
    """True once Rasa has loaded its model."""
    try:
        with urllib.request.urlopen(f"{url}/status?token={token}", timeout=2) as response:
            return bool(json.loads(response.read()).get("model_file"))
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return False


class Service:
    """One process: started, waited for, killed (SIGKILL) and started again with the same settings."""

    def __init__(
        self, name: str, argv: List[str], env: Dict[str, str], ready: Callable[[], bool], logs: Path, timeout: float
    ) -> None:
        self.name, self.argv, self.env, self.ready, self.timeout = name, argv, env, ready, timeout
        self.log_path = logs / f"{name}.log"
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            log.write(f"\n--- start {time.strftime('%H:%M:%S')}\n")
            log.flush()
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> float:
        """Seconds until it answered."""
        started = time.monotonic()
        while time.monotonic() - started < self.timeout:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited while starting; see {self.log_path}")
            if self.ready():
                return time.monotonic() - started
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not become ready in {self.timeout:.0f} s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when a machine or a process dies."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


def prepare_database(database_url: str) -> None:
    """What the launcher does before starting anything (a deployment runs it before its units start)."""
    migrate.upgrade(database_url)
    policies.load(database_url)


def launcher_processes(cfg: settings.Settings, token: str, extra: Dict[str, str]) -> tuple:
    """The launcher's environment and command lines for `cfg`, with `token` as Rasa's token."""
    with mock.patch.dict(os.environ, {"RASA_TOKEN": token, **extra}):
        return launcher.child_environment(cfg), launcher.commands(cfg, MODEL)


class Deployment:
    """Named services started together and stopped together."""

    def __init__(self, tmp: Path, database_url: str) -> None:
        self.tmp = tmp
        self.database_url = database_url
        self.token = f"test-token-{free_port()}"
        self.services: Dict[str, Service] = {}
        self.timings: Dict[str, float] = {}

    def add(self, service: Service) -> None:
        self.services[service.name] = service

    def start(self, *names: str) -> Dict[str, float]:
        """Start the services (all by default) and wait for them; returns each one's seconds to ready."""
        chosen = [self.services[n] for n in names or self.services]
        for service in chosen:
            service.start()
        with ThreadPoolExecutor(len(chosen)) as pool:
            return dict(zip([s.name for s in chosen], pool.map(Service.wait_ready, chosen)))

    def kill(self, name: str) -> None:
        self.services[name].kill()

    def restart(self, name: str) -> float:
        """SIGKILL, then a new process with the same settings; seconds until the new one answered."""
        self.kill(name)
        return self.start(name)[name]

    def close(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()


class Stack(Deployment):
    """One Rasa server, one action server and the console, each its own process."""

    def __init__(self, tmp: Path, database_url: str) -> None:
        super().__init__(tmp, database_url)
        self.cfg = settings.Settings(database_url, None, "127.0.0.1", free_port(), free_port(), free_port())
        env, argv = launcher_processes(
            self.cfg,
            self.token,
            {
                "DATABASE_URL": database_url,
                "STAFF_BOOTSTRAP_USER": STAFF_USER,
                "STAFF_BOOTSTRAP_PASSWORD": STAFF_PASSWORD,
            },
        )
        self.rasa_url, self.console_url = self.cfg.rasa_url, self.cfg.console_url
        rasa_ready = partial(rasa_answers, self.rasa_url, self.token)
        self.add(Service("rasa", argv["rasa"], env, rasa_ready, tmp, RASA_READY_SECONDS))
        actions_ready = partial(answers, f"http://127.0.0.1:{self.cfg.actions_port}/health")
        self.add(Service("actions", argv["actions"], env, actions_ready, tmp, READY_SECONDS))
        console_ready = partial(answers, f"{self.console_url}/health")
        self.add(Service("console", argv["console"], env, console_ready, tmp, READY_SECONDS))

    def say(self, sender: str, message: str) -> List[dict]:
        return post_json(f"{self.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": message}, timeout=60)

    def tracker(self, sender: str) -> dict:
        return http_json(f"{self.rasa_url}/conversations/{urllib.parse.quote(sender)}/tracker?token={self.token}")


NGINX_CONFIG = """
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;

events {{
    worker_connections 256;
}}

http {{
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    log_format upstreams '$request_method $uri $status upstream=$upstream_addr $request_time';
    access_log {tmp}/nginx-access.log upstreams;
    # The public snippet's limit zones, keyed by nothing: every test client and the bench share 127.0.0.1.
    limit_req_zone $hospital_no_limit zone=hospital_public:1m rate=20r/s;
    limit_conn_zone $hospital_no_limit zone=hospital_public_conn:1m;
    map $remote_addr $hospital_no_limit {{
        default "";
    }}

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' close;
    }}

    upstream hospital_rasa {{
        server 127.0.0.1:{rasa_a} max_fails=1 fail_timeout=10s;
        server 127.0.0.1:{rasa_b} max_fails=1 fail_timeout=10s;
    }}

    upstream hospital_rasa_socketio {{
        hash $remote_addr consistent;
        server 127.0.0.1:{rasa_a} max_fails=1 fail_timeout=10s;
        server 127.0.0.1:{rasa_b} max_fails=1 fail_timeout=10s;
    }}

    upstream hospital_actions {{
        server 127.0.0.1:{actions_a} max_fails=1 fail_timeout=10s;
        server 127.0.0.1:{actions_b} max_fails=1 fail_timeout=10s;
    }}

    upstream hospital_console {{
        server 127.0.0.1:{console};
    }}

    # The public server (TLS is the deployment's; the tests speak plain HTTP on loopback).
    server {{
        listen 127.0.0.1:{public};
        include {snippets}/hospital-assistant-public.conf;
    }}

    # Rasa's HTTP API and REST channel for the console and integrations; tells the test which instance answered.
    server {{
        listen 127.0.0.1:{internal};
        add_header X-Upstream $upstream_addr always;
        include {snippets}/hospital-assistant-internal.conf;
    }}

    # The action servers, for Rasa's action_endpoint.
    server {{
        listen 127.0.0.1:{actions};
        include {snippets}/hospital-assistant-actions.conf;
    }}
}}
"""


class Cluster(Deployment):
    """Two Rasa instances and two action servers behind nginx, PostgreSQL, Redis, and the console."""

    RASA = ("rasa-a", "rasa-b")
    ACTIONS = ("actions-a", "actions-b")

    def __init__(self, tmp: Path, database_url: str, redis_url: str) -> None:
        super().__init__(tmp, database_url)
        if not Path(NGINX).exists():
            unavailable(f"nginx is not installed ({NGINX}); make test installs Debian's nginx-light")
        self.redis_url = redis_url
        names = (*self.RASA, *self.ACTIONS, "console", "public", "internal", "actions")
        self.ports = {name: free_port() for name in names}
        self.public_url = f"http://127.0.0.1:{self.ports['public']}"
        self.internal_url = f"http://127.0.0.1:{self.ports['internal']}"
        self.console_url = f"http://127.0.0.1:{self.ports['console']}"
        shared = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.ports['actions']}/webhook",
            "STAFF_BOOTSTRAP_USER": STAFF_USER,
            "STAFF_BOOTSTRAP_PASSWORD": STAFF_PASSWORD,
        }
        for rasa, actions in zip(self.RASA, self.ACTIONS):
            cfg = settings.Settings(
                database_url, redis_url, "127.0.0.1", self.ports[rasa], self.ports[actions], self.ports["console"]
            )
            env, argv = launcher_processes(cfg, self.token, shared)
            rasa_argv = argv["rasa"]
            rasa_argv[rasa_argv.index("--endpoints") + 1] = str(DEPLOY_ENDPOINTS)
            rasa_ready = partial(rasa_answers, self.url(rasa), self.token)
            self.add(Service(rasa, rasa_argv, env, rasa_ready, tmp, RASA_READY_SECONDS))
            actions_ready = partial(answers, f"{self.url(actions)}/health")
            self.add(Service(actions, argv["actions"], env, actions_ready, tmp, READY_SECONDS))
        # The console reaches Rasa's API through nginx's internal server, as in deploy/.
        console_cfg = settings.Settings(
            database_url, redis_url, "127.0.0.1", self.ports["internal"], self.ports["actions"], self.ports["console"]
        )
        env, argv = launcher_processes(console_cfg, self.token, shared)
        console_ready = partial(answers, f"{self.console_url}/health")
        self.add(Service("console", argv["console"], env, console_ready, tmp, READY_SECONDS))
        self.add(self._nginx(tmp))

    def _nginx(self, tmp: Path) -> Service:
        nginx_dir = tmp / "nginx"
        nginx_dir.mkdir()
        config = NGINX_CONFIG.format(
            tmp=nginx_dir,
            # As root, nginx would hand its workers to an account that cannot enter pytest's private temp dir.
            user="user root root;" if os.geteuid() == 0 else "",
            snippets=NGINX_SNIPPETS,
            rasa_a=self.ports["rasa-a"],
            rasa_b=self.ports["rasa-b"],
            actions_a=self.ports["actions-a"],
            actions_b=self.ports["actions-b"],
            console=self.ports["console"],
            public=self.ports["public"],
            internal=self.ports["internal"],
            actions=self.ports["actions"],
        )
        (nginx_dir / "nginx.conf").write_text(config)
        argv = [
            NGINX, "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf"),
            "-e", str(nginx_dir / "nginx-error.log"), "-g", "daemon off;",
        ]
        return Service("nginx", argv, dict(os.environ), partial(responds, self.public_url), tmp, READY_SECONDS)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def instance_of(self, upstream_addr: str) -> str:
        """The Rasa instance that finally answered, from nginx's $upstream_addr (a failed try comes first)."""
        last = upstream_addr.split(",")[-1].strip()
        return next(name for name in self.RASA if last == f"127.0.0.1:{self.ports[name]}")

    def say(self, sender: str, message: str, base_url: Optional[str] = None) -> tuple:
        """A REST message through nginx (or straight to `base_url`); the replies and who answered."""
        request = urllib.request.Request(
            f"{base_url or self.internal_url}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": message}, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return json.loads(response.read().decode("utf-8")), response.headers.get("X-Upstream", "")

    def tracker(self, sender: str) -> dict:
        return http_json(f"{self.internal_url}/conversations/{urllib.parse.quote(sender)}/tracker?token={self.token}")


class SocketPatient:
    """What the web widget does: a Socket.IO session with the conversation id and token the server
    issued (polling transport); `session_id` and `session_token` are set by `connect()`.

    Each message received is the channel's `bot_uttered` payload plus `received_at` (perf_counter)."""

    def __init__(self, server_url: str) -> None:
        import socketio

        self.server_url = server_url
        self.session_id: Optional[str] = None
        self.session_token: Optional[str] = None
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: "asyncio.Queue[dict]" = asyncio.Queue()
        self.client.on("bot_uttered", self._received)

    async def _received(self, message: dict) -> None:
        await self.inbox.put({**message, "received_at": time.perf_counter()})

    async def connect(self) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda session: confirmed.done() or confirmed.set_result(session))
        await self.client.connect(self.server_url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": self.session_id, "session_token": self.session_token})
        session = await asyncio.wait_for(confirmed, 15)
        self.session_id, self.session_token = session["session_id"], session["session_token"]

    async def say(self, text: str, session_id: Optional[str] = None) -> None:
        """Send `text`; `session_id` names another conversation in the message, as an attacker would."""
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id or self.session_id})

    async def next_message(self, timeout: float = 30) -> dict:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def message_containing(self, needle: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = await self.next_message(max(0.1, deadline - time.monotonic()))
            if needle in message.get("text", ""):
                return message

    async def heard_within(self, seconds: float) -> List[str]:
        """The texts of whatever arrives within `seconds` (callers expect nothing)."""
        await asyncio.sleep(seconds)
        heard = []
        while not self.inbox.empty():
            heard.append(self.inbox.get_nowait().get("text", ""))
        return heard

    async def close(self) -> None:
        await self.client.disconnect()
