#!/usr/bin/env python3
"""A port that behaves, then misbehaves: for testing the runner ([PROTO-4]).

Usage: hostile.py MODE [AFTER]

It relays requests to the reference port (`$FLYTECTX_BIN serve-model`) and
relays its answers back, until request number AFTER (counting the hello as 0),
where MODE decides what goes wrong:

  crash        exit with status 3 instead of answering
  hang         stop answering, stay alive
  garbage      answer with a line that is not JSON
  not-answer   answer with JSON that is not {"ok": ...} or {"err": ...}
  not-utf8     answer with bytes that are not UTF-8
  double       answer twice
  skip         do not answer this one request, answer the later ones
  close        close standard output and keep running
  stderr-flood write 2 MB to standard error before every answer (never fails)
  bad-version  answer the hello with protocol version 99
  no-hello     answer the hello like an operation
  unsupported  answer the hello with unsupported_profile
  bad-exit     behave, but exit with status 5 when standard input closes
  slow-exit    behave, but do not exit when standard input closes
  lie-then-crash  answer every `size` with -1 (a wrong answer), and exit
               with status 3 on every `pop` (AFTER is not used)
  fork-hang    start a child that hangs (in the port's process group), then
               hang at request AFTER
  claims-1.8.3 declare flytekit 1.8.3 (without signals, which 1.8 lacks) and
               behave as 1.16.10: wrong wherever the releases differ
               ([REL-3]; AFTER is not used)
"""
import json
import os
import re
import subprocess
import sys
import time

mode = sys.argv[1]
after = int(sys.argv[2]) if len(sys.argv) > 2 else 1
model = subprocess.Popen([os.environ["FLYTECTX_BIN"], "serve-model"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out = sys.stdout.buffer


def write(data):
    out.write(data)
    out.flush()


for n, line in enumerate(sys.stdin.buffer):
    model.stdin.write(line)
    model.stdin.flush()
    answer = model.stdout.readline()
    if mode == "lie-then-crash" and n > 0:
        op = json.loads(line).get("op")
        if op == "size":
            answer = b'{"ok":-1}\n'
        elif op == "pop":
            sys.exit(3)
    if mode == "stderr-flood":
        sys.stderr.write(("x" * 1023 + "\n") * 2048)
        sys.stderr.flush()
    if n == 0:
        if mode == "bad-version":
            answer = re.sub(rb'"version":\d+', b'"version":99', answer)
        elif mode == "no-hello":
            answer = b'{"ok":null}\n'
        elif mode == "unsupported":
            answer = b'{"err":"unsupported_profile"}\n'
        elif mode == "claims-1.8.3":
            hello = json.loads(answer)
            hello["hello"]["release"] = "1.8.3"
            hello["hello"]["features"].remove("signals")
            answer = (json.dumps(hello) + "\n").encode()
    if n == after:
        if mode == "fork-hang":
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
            with open(os.environ["FLYTECTX_CHILD_PID_FILE"], "w") as f:
                f.write(str(child.pid))
            while True:
                time.sleep(60)
        if mode == "crash":
            sys.exit(3)
        if mode == "hang":
            while True:
                time.sleep(60)
        if mode == "garbage":
            answer = b"banana\n"
        if mode == "not-answer":
            answer = b'{"answer":42}\n'
        if mode == "not-utf8":
            answer = b'{"ok":"\xff\xfe"}\n'
        if mode == "double":
            write(answer)
        if mode == "skip":
            continue
        if mode == "close":
            os.close(1)
            while True:
                time.sleep(60)
    write(answer)

if mode == "bad-exit":
    sys.exit(5)
if mode == "slow-exit":
    while True:
        time.sleep(60)
