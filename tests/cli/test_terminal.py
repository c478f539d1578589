"""On a terminal: `update` asks for the parts not given and refuses blanks; `watch` follows live."""

import json
import os
import pty
import queue
import select
import signal
import subprocess
import threading
import time

from tests.cli.conftest import WARROOM, Stack


def _declared_with_worker(stack: Stack):
    sam, wes = stack.person("Sam"), stack.person("Wes")
    aspect = stack.aspect([sam])
    incident = stack.declare(sam, aspect)
    assert stack.run("worker", "add", incident["id"], wes.id, token=sam.token).returncode == 0
    return incident, sam, wes


class Terminal:
    """A process on a pseudo-terminal: read what it shows, type answers."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.screen = ""

    def expect(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            assert time.monotonic() < deadline, f"{text!r} not shown; the screen: {self.screen!r}"
            if select.select([self.master], [], [], 0.1)[0]:
                try:
                    self.screen += os.read(self.master, 4096).decode(errors="replace")
                except OSError:  # the process ended and closed the terminal
                    break
        assert text in self.screen, self.screen

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def close(self) -> int:
        code = self.process.wait(20)
        os.close(self.master)
        return code


def test_r06_update_on_a_terminal_asks_for_the_missing_parts_and_refuses_a_blank_one(stack: Stack):
    incident, _, wes = _declared_with_worker(stack)
    terminal = Terminal([str(WARROOM), "update", incident["id"], "--learned", "disk full"], stack.env(wes.token))
    terminal.expect("What have you tried?")
    terminal.type("cleanup")
    terminal.expect("What was the outcome?")
    terminal.type("   ")
    terminal.expect("needs this part")
    terminal.type("partial")
    terminal.expect("What are you working on now?")
    terminal.type("resize")
    terminal.expect("What remains to be done?")
    terminal.type("verify")
    terminal.expect("Status update posted")
    assert terminal.close() == 0
    events = stack.run("--json", "show", incident["id"], token=wes.token)
    assert json.loads(events.stdout)["version"] == 3


def test_cli_watch_shows_an_event_as_it_happens_and_stops_on_ctrl_c(stack: Stack):
    incident, sam, _ = _declared_with_worker(stack)
    watcher = subprocess.Popen(
        [str(WARROOM), "watch", incident["id"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=stack.env(sam.token),
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in watcher.stdout], daemon=True).start()  # type: ignore[union-attr]

    def shown(text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if text in line:
                return line
        raise AssertionError(f"{text!r} was not shown")

    try:
        shown("Sam added Wes as a worker")  # the history first
        assert stack.run("status-request", incident["id"], token=sam.token).returncode == 0
        shown("Sam asked the workers for a status update")  # then live
    finally:
        watcher.send_signal(signal.SIGINT)
        code = watcher.wait(10)
    assert code == 0


def test_cli_shell_completion_offers_the_commands_and_their_choices(stack: Stack):
    def complete(words: str) -> list[str]:
        env = {"_WARROOM_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
        return stack.run(**env).stdout.split()

    assert complete("warroom hand") == ["handover"]
    assert complete("warroom handover ") == ["offer", "accept", "decline", "force"]
    assert complete("warroom list --status ") == ["open", "resolved", "closed"]
