"""`make bench`: measure latency, throughput, memory and training cost in one run.

Starts the whole stack (`python -m bot run`) on private ports with a private
SQLite database, drives it over HTTP exactly as a patient's channel would, and
records the figures in bench/runs/<date>-<label>.json; bench/results.md is then
rendered from every recorded run, so "before" and "after" sit side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import httpx

from bench import length_report

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "bench" / "runs"
RESULTS = ROOT / "bench" / "results.md"
MODEL = ROOT / "models" / "current.tar.gz"

# Messages that keep a conversation with the bot (no handoff pauses it), covering
# rules, the action server and the database.
CONVERSATION = [
    "你好",
    "退款需要什么条件",
    "双眼皮多久消肿",
    "你们医院电话多少",
    "谢谢",
]
NLU_SAMPLES = CONVERSATION + ["伤口一直流血止不住", "我要投诉你们客服态度太差", "隆鼻后鼻梁歪了"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: List[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarize(latencies_ms: List[float], errors: int, wall_s: float) -> Dict[str, float]:
    return {
        "count": len(latencies_ms),
        "errors": errors,
        "p50_ms": round(percentile(latencies_ms, 50), 1),
        "p95_ms": round(percentile(latencies_ms, 95), 1),
        "p99_ms": round(percentile(latencies_ms, 99), 1),
        "mean_ms": round(statistics.fmean(latencies_ms), 1) if latencies_ms else float("nan"),
        "msgs_per_s": round(len(latencies_ms) / wall_s, 1) if wall_s else 0.0,
    }


class Stack:
    """The launcher and its children on private ports."""

    conversation: Sequence[str] = CONVERSATION  # what its patients say

    def __init__(self, workdir: Path, extra_env: Optional[Dict[str, str]] = None) -> None:
        self.rasa_port, self.actions_port, self.console_port = free_port(), free_port(), free_port()
        self.token = uuid.uuid4().hex
        env = dict(
            os.environ,
            DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
            RASA_PORT=str(self.rasa_port),
            ACTIONS_PORT=str(self.actions_port),
            CONSOLE_PORT=str(self.console_port),
            RASA_TOKEN=self.token,
        )
        env.pop("REDIS_URL", None)
        # The bench sends faster than any patient types, from one address: lift the app's REST rates.
        env.update(REST_MESSAGES_PER_MINUTE_PER_CONVERSATION="1000000", REST_MESSAGES_PER_MINUTE_PER_CLIENT="1000000")
        env.update(extra_env or {})
        self.log_path = workdir / "stack.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.rasa_url = f"http://127.0.0.1:{self.rasa_port}"

    def wait_ready(self, timeout: float = 300) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the stack exited early; see {self.log_path}")
            try:
                status = httpx.get(f"{self.rasa_url}/status", params={"token": self.token}, timeout=2)
                if status.status_code == 200 and status.json().get("model_file"):
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the stack did not become ready")

    def processes(self) -> Dict[str, int]:
        """Name → pid of each child the launcher started (Rasa, actions, console)."""
        found: Dict[str, int] = {}
        for pid in _children(self.proc.pid):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "rasa_sdk" in cmdline or "bot.action_server" in cmdline:
                found["actions"] = pid
            elif " rasa run" in cmdline or "bot.rasa_runtime" in cmdline:
                found["rasa"] = pid
            elif "uvicorn" in cmdline or "bot.console" in cmdline:
                found["console"] = pid
        return found

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _children(pid: int) -> List[int]:
    result = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                result.append(int(entry.name))
    return result


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the resident-set high-water mark of a process and its descendants."""
    total = 0.0
    for each in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return round(total, 1)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_message(
    pids: Dict[str, int], measure: Callable[[], Dict[str, float]]
) -> Tuple[Dict[str, float], Dict[str, float]]:
    """`measure()`'s figures, and the CPU milliseconds each process spent per message meanwhile.

    On a machine whose cores are all busy, these bound the throughput: messages per second ≤
    1000 × cores / (sum of the per-message CPU of every process, the load generator's included)."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    client_before = time.process_time()
    figures = measure()
    count = max(1, int(figures["count"]))
    cpu = {name: round((cpu_seconds(pid) - before[name]) * 1000 / count, 1) for name, pid in pids.items()}
    cpu["load generator"] = round((time.process_time() - client_before) * 1000 / count, 1)
    return figures, cpu


async def nlu_latency(stack: Stack, rounds: int) -> Dict[str, float]:
    latencies: List[float] = []
    errors = 0
    async with httpx.AsyncClient(timeout=30) as client:
        start = time.perf_counter()
        for i in range(rounds):
            text = NLU_SAMPLES[i % len(NLU_SAMPLES)]
            t0 = time.perf_counter()
            response = await client.post(
                f"{stack.rasa_url}/model/parse", params={"token": stack.token}, json={"text": text}
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += response.status_code != 200
        wall = time.perf_counter() - start
    return summarize(latencies, errors, wall)


async def _conversation(
    client: httpx.AsyncClient, url: str, turns: int, latencies: List[float], texts: Sequence[str] = CONVERSATION
) -> int:
    sender = f"bench-{uuid.uuid4().hex}"
    errors = 0
    for i in range(turns):
        t0 = time.perf_counter()
        try:
            response = await client.post(
                f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": texts[i % len(texts)]}
            )
            ok = response.status_code == 200 and bool(response.json())
        except httpx.HTTPError:
            ok = False
        latencies.append((time.perf_counter() - t0) * 1000)
        errors += not ok
    return errors


async def sequential_turns(url: str, rounds: int) -> Dict[str, float]:
    """One patient at a time, each a conversation of `len(CONVERSATION)` turns, until `rounds` messages."""
    latencies: List[float] = []
    errors = 0
    async with httpx.AsyncClient(timeout=120) as client:
        start = time.perf_counter()
        while len(latencies) < rounds:
            errors += await _conversation(client, url, min(len(CONVERSATION), rounds - len(latencies)), latencies)
        wall = time.perf_counter() - start
    return summarize(latencies, errors, wall)


async def full_turns(
    url: str, conversations: int, turns: int, texts: Sequence[str] = CONVERSATION
) -> Dict[str, float]:
    latencies: List[float] = []
    limits = httpx.Limits(max_connections=conversations, max_keepalive_connections=conversations)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        start = time.perf_counter()
        errors = await asyncio.gather(
            *(_conversation(client, url, turns, latencies, texts) for _ in range(conversations))
        )
        wall = time.perf_counter() - start
    return summarize(latencies, sum(errors), wall)


def training_cost(workdir: Path) -> Dict[str, float]:
    out = workdir / "models"
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--force", "--out", str(out), "--fixed-model-name", "bench"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - start
    size = (out / "bench.tar.gz").stat().st_size
    return {"seconds": round(seconds, 1), "model_mb": round(size / 1e6, 1)}


def machine() -> Dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory_gb": f"{mem_kb / 1024 / 1024:.0f}",
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_before": Path("/proc/loadavg").read_text().split()[0],
    }


def run(label: str, rounds: int, turns: int, skip_training: bool, cluster: bool) -> Dict[str, object]:
    if not MODEL.exists():
        raise SystemExit(f"no model at {MODEL}: run 'make train' first (make bench does)")
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    result: Dict[str, object] = {
        "label": label,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
    }
    stack = Stack(workdir)
    try:
        result["startup_s"] = round(stack.wait_ready(), 1)
        asyncio.run(full_turns(stack.rasa_url, 4, 2))  # warm-up: model graphs, connections, caches
        result["nlu_parse"] = asyncio.run(nlu_latency(stack, rounds))
        result["full_turn_sequential"] = asyncio.run(sequential_turns(stack.rasa_url, rounds))
        result["full_turn_8_concurrent"] = asyncio.run(full_turns(stack.rasa_url, 8, turns))
        result["full_turn_32_concurrent"], result["cpu_ms_per_message_32"] = cpu_per_message(
            stack.processes(), lambda: asyncio.run(full_turns(stack.rasa_url, 32, turns))
        )
        result["full_turn_128_concurrent"] = asyncio.run(full_turns(stack.rasa_url, 128, turns))
        result["peak_memory_mb"] = {name: peak_rss_mb(pid) for name, pid in stack.processes().items()}
    finally:
        stack.stop()
    if cluster:
        from bench import cluster as scaled_out

        result["cluster"] = scaled_out.measure(turns)
    if not skip_training:
        result["training"] = training_cost(workdir)
    nlu_p50 = result["nlu_parse"]["p50_ms"]  # type: ignore[index]
    full_p50 = result["full_turn_sequential"]["p50_ms"]  # type: ignore[index]
    result["full_to_nlu_ratio_p50"] = round(full_p50 / nlu_p50, 2) if nlu_p50 else None
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def render(runs: List[Dict[str, object]]) -> str:
    header = (
        "# Benchmark results\n\n"
        "Produced by `make bench` (bench/run.py); every recorded run is in bench/runs/. "
        "Latencies in milliseconds, measured by an HTTP client on the same machine.\n\n"
        "Targets (2-core machine): full turn p95 ≤ 150 ms sequentially; ≥ 50 msg/s with 32 concurrent "
        "conversations and no errors; Rasa process ≤ 1.5 GB; full training ≤ 5 min.\n\n"
    )
    cols = ["run", "date", "NLU p50/p95/p99", "turn p50/p95/p99", "8 conc p95 · msg/s · err",
            "32 conc p95 · msg/s · err", "128 conc p95 · msg/s · err", "turn/NLU", "peak MB (rasa/actions/console)",
            "CPU ms/msg at 32 (rasa/actions/console/load gen.)", "train s · model MB"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in runs:
        def lat(key: str) -> str:
            d = r.get(key) or {}
            return f"{d.get('p50_ms')}/{d.get('p95_ms')}/{d.get('p99_ms')}"

        def conc(key: str) -> str:
            d = r.get(key) or {}
            return f"{d.get('p95_ms')} · {d.get('msgs_per_s')} · {d.get('errors')}"

        mem = r.get("peak_memory_mb") or {}
        cpu = r.get("cpu_ms_per_message_32") or {}
        training = r.get("training") or {}
        lines.append("| " + " | ".join([
            str(r["label"]), str(r["date"])[:16].replace("T", " "), lat("nlu_parse"), lat("full_turn_sequential"),
            conc("full_turn_8_concurrent"), conc("full_turn_32_concurrent"), conc("full_turn_128_concurrent"),
            str(r.get("full_to_nlu_ratio_p50")),
            f"{mem.get('rasa', '–')}/{mem.get('actions', '–')}/{mem.get('console', '–')}",
            f"{cpu.get('rasa', '–')}/{cpu.get('actions', '–')}/{cpu.get('console', '–')}/{cpu.get('load generator', '–')}",
            f"{training.get('seconds', '–')} · {training.get('model_mb', '–')}",
        ]) + " |")
    lines += ["", "Scaled out (bench/cluster.py): two Rasa instances and two action servers behind nginx, on "
              "PostgreSQL and Redis, as in docs/deploy.md, on the same machine.", "",
              "| run | 32 conc p50/p95 · msg/s · err | CPU ms/msg at 32 |", "|---|---|---|"]
    for r in runs:
        scaled = r.get("cluster")
        if not scaled:
            continue
        if "not_measured" in scaled:
            lines.append(f"| {r['label']} | not measured: {scaled['not_measured']} | |")
            continue
        d, cpu = scaled["full_turn_32_concurrent"], scaled["cpu_ms_per_message_32"]
        lines.append(f"| {r['label']} | {d['p50_ms']}/{d['p95_ms']} · {d['msgs_per_s']} · {d['errors']} | "
                     + ", ".join(f"{name} {ms}" for name, ms in cpu.items()) + " |")
    latest = runs[-1]["machine"] if runs else {}
    machine_line = ", ".join(f"{k}: {v}" for k, v in latest.items())  # type: ignore[union-attr]
    notes_path = ROOT / "bench" / "notes.md"
    notes = notes_path.read_text() if notes_path.exists() else ""
    return header + f"Machine: {machine_line}\n\n" + "\n".join(lines) + "\n\n" + length_report.latest_section() + notes


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--label", default="current", help="name of this run in results.md")
    parser.add_argument("--rounds", type=int, default=200, help="sequential requests per measurement")
    parser.add_argument("--turns", type=int, default=5, help="messages per conversation in the concurrent runs")
    parser.add_argument("--skip-training", action="store_true", help="do not measure a full training")
    parser.add_argument("--no-cluster", action="store_true", help="skip the two-instance measurement (bench/cluster.py)")
    parser.add_argument("--render-only", action="store_true", help="only rebuild results.md from bench/runs/")
    args = parser.parse_args(argv)
    RUNS.mkdir(parents=True, exist_ok=True)
    if not args.render_only:
        result = run(args.label, args.rounds, args.turns, args.skip_training, not args.no_cluster)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        (RUNS / f"{stamp}-{args.label}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
        print(json.dumps(result, ensure_ascii=False, indent=2))
    runs = [json.loads(p.read_text()) for p in sorted(RUNS.glob("*.json"))]
    RESULTS.write_text(render(runs))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
