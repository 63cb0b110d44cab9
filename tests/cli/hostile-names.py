#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile names: guest names, OS names and labels that come from outside
(QEMU's command line, the hook's registry, the OS map, ksmvirtd's status
document) carry terminal escapes, newlines, markup, quotes, backslashes and
invalid UTF-8.  Every command and format must show them escaped for its
destination: terminal text without a raw control character, HTML without an
injected tag, JSON that a strict parser reads back, Prometheus text that
promtool accepts.

Usage: tests/cli/hostile-names.py [BUILD-DIR]     (default: build)
Exit status: 0 all passed, 1 a check failed.
"""
import html.parser
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(TOP, sys.argv[1] if len(sys.argv) > 1 else "build", "ksmvirt")
ROOTS = os.path.join(TOP, "tests", "data", "roots")

# The raw bytes each source carries, and how each destination must show them.
CMDLINE_NAME = b'evil\x1b[31m"q"\\<script>alert(1)</script>\nline2\xff'
REG_NAME = 'reg\x1b]0;pwned\x07 <img src=x onerror=alert(1)> "dq" \\bs\u202e'
OS_DISTRO = 'deb"ian\\\x1b[2J<b>'
OS_PRODUCT = '12.7\u009b31m'
# A merge-isolation group named on the command line (GLib takes only UTF-8).
GROUP_NAME = '<b>grp</b>"q"\\\x1b[31m\nnl\u202e'
GROUP_TERM = '<b>grp</b>"q"\\\\\\x1b[31m\\nnl\\u202e'

# In JSON: the string itself, only the invalid byte as the text \xff.
CMDLINE_JSON = CMDLINE_NAME.decode("utf-8", "replace").replace("\ufffd", "\\xff")
# On a terminal.
CMDLINE_TERM = 'evil\\x1b[31m"q"\\\\<script>alert(1)</script>\\nline2\\xff'
REG_TERM = 'reg\\x1b]0;pwned\\x07 <img src=x onerror=alert(1)> "dq" \\\\bs\\u202e'
# Through ksmvirtd's status document (JSON, where the invalid byte already
# became the text \xff): that backslash is escaped like any other.
CMDLINE_STATUS_TERM = CMDLINE_TERM.replace("\\xff", "\\\\xff")
OS_TERM = 'deb"ian\\\\\\x1b[2J<b> 12.7\\u009b31m'

n = 0
failed = 0


def check(name, ok, detail=""):
    global n, failed
    n += 1
    if ok:
        print(f"ok {n} - {name}")
    else:
        failed += 1
        print(f"not ok {n} - {name}")
        for line in str(detail).splitlines()[:20]:
            print(f"#   {line}")


def run(*args, want_rc=0):
    p = subprocess.run([BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode != want_rc:
        check(f"ksmvirt {' '.join(args[:3])} exits {want_rc}", False,
              f"exit {p.returncode}\n{p.stderr.decode('utf-8', 'replace')}")
    return p.stdout


def make_root(tmp):
    root = os.path.join(tmp, "root")
    shutil.copytree(os.path.join(ROOTS, "host-full"), root, symlinks=True)
    # win10's QEMU names itself on its command line.
    path = os.path.join(root, "proc", "1403", "cmdline")
    with open(path, "rb") as f:
        argv = f.read().split(b"\0")
    argv[argv.index(b"-name") + 1] = b"guest=" + CMDLINE_NAME
    with open(path, "wb") as f:
        f.write(b"\0".join(argv))
    # The hook's registry names web-1.
    path = os.path.join(root, "var", "lib", "ksmvirt", "registry.json")
    with open(path) as f:
        reg = json.load(f)
    reg["guests"][0]["name"] = REG_NAME
    with open(path, "w") as f:
        json.dump(reg, f)
    # The OS map gives db an OS name.
    path = os.path.join(root, "var", "lib", "ksmvirt", "os.json")
    with open(path) as f:
        osmap = json.load(f)
    db = osmap["guests"]["0a1b2c3d-0000-4000-8000-000000000002"]
    db["distro"], db["product_name"] = OS_DISTRO, OS_PRODUCT
    with open(path, "w") as f:
        json.dump(osmap, f)
    return root


RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")


def check_terminal(what, out, names):
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        check(f"{what}: valid UTF-8", False, e)
        return
    m = RAW_CONTROL.search(text)
    check(f"{what}: no raw control character", m is None,
          m and f"U+{ord(m.group()):04X} in: {text[max(0, m.start() - 40):m.end() + 40]!r}")
    for name in names:
        check(f"{what}: shows {name[:12]!r}... escaped", name in text, text)
    check(f"{what}: no line starts with what followed a newline in a name",
          not re.search(r"^\s*line2", text, re.M), text)


def check_json(what, out, names):
    try:
        doc = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        check(f"{what}: strict UTF-8 JSON", False, e)
        return None
    check(f"{what}: strict UTF-8 JSON", True)
    strings = set()

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                strings.add(k)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            strings.add(v)
    walk(doc)
    for name in names:
        check(f"{what}: carries {name[:12]!r}... as a string", any(name in s for s in strings),
              sorted(strings))
    return doc


ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "b", "pre",
                "svg", "rect", "text", "line", "path", "table", "tr", "th", "td"}


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = set(), set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(a for a, _ in attrs)


def check_html(what, page):
    try:
        text = page.decode("utf-8")
    except UnicodeDecodeError as e:
        check(f"{what}: valid UTF-8", False, e)
        return
    m = RAW_CONTROL.search(text)
    check(f"{what}: no raw control character", m is None,
          m and repr(text[max(0, m.start() - 40):m.end() + 40]))
    p = Tags()
    p.feed(text)
    check(f"{what}: no injected element", p.tags <= ALLOWED_TAGS, sorted(p.tags - ALLOWED_TAGS))
    check(f"{what}: no injected attribute", not any(a.startswith("on") for a in p.attrs), sorted(p.attrs))
    svgs = re.findall(r"<svg.*?</svg>", text, re.S)
    labels = []
    for i, svg in enumerate(svgs):
        try:
            labels += ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
        except ET.ParseError as e:
            check(f"{what}: SVG chart {i} is well-formed XML", False, e)
            return
    check(f"{what}: {len(svgs)} SVG charts are well-formed XML", len(svgs) >= 2)
    for name in (CMDLINE_TERM, REG_TERM):
        check(f"{what}: a chart labels {name[:12]!r}... escaped", name in labels, labels)
    pre = re.search(r"<pre>(.*)</pre>", text, re.S)
    check(f"{what}: the details show {CMDLINE_TERM[:12]!r}... escaped",
          pre and CMDLINE_TERM in html.unescape(pre.group(1)))


def unescape_label(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def check_prometheus(what, out):
    p = subprocess.run(["promtool", "check", "metrics"], input=out, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    check(f"{what}: promtool check metrics accepts it", p.returncode == 0, p.stdout.decode("utf-8", "replace"))
    values = set()
    for line in out.decode("utf-8", "replace").splitlines():
        for m in re.finditer(r'(\w+)="((?:[^"\\]|\\.)*)"', line):
            values.add((m.group(1), unescape_label(m.group(2))))
    check(f"{what}: name label of the command-line guest", ("name", CMDLINE_JSON) in values,
          sorted(v for v in values if v[0] == "name"))
    check(f"{what}: name label of the registry guest", ("name", REG_NAME) in values)
    check(f"{what}: distro label", ("distro", OS_DISTRO) in values,
          sorted(v for v in values if v[0] == "distro"))
    check(f"{what}: family label", ("family", f"linux/{OS_DISTRO}/12") in values,
          sorted(v for v in values if v[0] == "family"))


def serve_status(path, doc, stop):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    srv.settimeout(0.2)
    while not stop.is_set():
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        with c:
            c.recv(4096)
            c.sendall(doc)
    srv.close()


def check_daemon_log(tmp):
    """ksmvirtd's log line for a hook event names the domain: escaped."""
    build = os.path.dirname(BIN)
    name = "log\u009b2J\u202eevil\\x"
    env = dict(os.environ, KSMVIRT_SOCKET=os.path.join(tmp, "none.sock"),
               KSMVIRT_STATE_DIR=os.path.join(tmp, "state"), KSMVIRT_HOOK_FOREGROUND="1")
    xml = subprocess.run([os.path.join(TOP, "tests", "rig", "mkdomain"), "--name", "placeholder",
                          "--rig", "/nonexistent", "--uuid", "b0000000-0000-4000-8000-000000000001"],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    xml = xml.replace("<name>placeholder</name>", f"<name>{name}</name>")
    p = subprocess.run([os.path.join(build, "libvirt-hooks", "ksmvirt-hook"), name, "started", "begin", "-"],
                       input=xml.encode(), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check("hook spools an event for a hostile domain name", p.returncode == 0, p.stderr.decode("utf-8", "replace"))
    p = subprocess.run([os.path.join(build, "ksmvirtd"), "--oneshot", "--verbose", "--no-balance"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check("ksmvirtd --oneshot replays it", p.returncode == 0, p.stderr.decode("utf-8", "replace"))
    check_terminal("ksmvirtd log", p.stderr, ["log\\u009b2J\\u202eevil\\\\x"])


def main():
    if not shutil.which("promtool"):
        print("not ok 1 - promtool not found (Debian package prometheus: scripts/install-deps build)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(tmp)
        common = ["--root", root, "--interval", "0", "--no-libvirt"]

        out = run("report", *common)
        check_terminal("report (text)", out, [CMDLINE_TERM, REG_TERM, OS_TERM])
        out = run("report", "--census", *common)
        check_terminal("report --census (text)", out, [CMDLINE_TERM, REG_TERM])
        out = run("report", "--json", "--census", *common)
        check_json("report --json", out, [CMDLINE_JSON, REG_NAME, OS_DISTRO, OS_PRODUCT])
        out = run("report", "--prometheus", "--census", *common)
        check_prometheus("report --prometheus", out)
        for census in ([], ["--census"]):
            page = os.path.join(tmp, "r.html")
            run("report", "--html", page, *census, *common)
            with open(page, "rb") as f:
                check_html("report --html" + (" --census" if census else ""), f.read())

        # --sharing: the group name in the tables and the cross-group
        # warning (web-1 and db share frames), in every format.
        sharing = ["--sharing", "--group", "1201=" + GROUP_NAME, "--group", "1302=plain"]
        out = run("report", *sharing, *common)
        check_terminal("report --sharing (text)", out, [CMDLINE_TERM, GROUP_TERM, 'in group "%s"' % GROUP_TERM])
        out = run("report", "--json", *sharing, *common)
        check_json("report --sharing --json", out, [GROUP_NAME, 'group "%s"' % GROUP_NAME])
        out = run("report", "--prometheus", *sharing, *common)
        check_prometheus("report --sharing --prometheus", out)
        labels = set(unescape_label(m.group(1))
                     for m in re.finditer(r'group_a="((?:[^"\\]|\\.)*)"', out.decode("utf-8", "replace")))
        check("report --sharing --prometheus: group label", GROUP_NAME in labels, sorted(labels))
        page = os.path.join(tmp, "r.html")
        run("report", "--html", page, *sharing, *common)
        with open(page, "rb") as f:
            page = f.read()
        check_html("report --html --sharing", page)
        check("report --html --sharing: the group in a table, escaped",
              html.escape(GROUP_TERM, quote=True).replace("&#x27;", "&#39;") in page.decode("utf-8"))

        out = run("advise", "--root", root, "--no-libvirt")
        check_terminal("advise (text)", out, [CMDLINE_TERM, 'linux/deb"ian\\\\\\x1b[2J<b>/12'])
        out = run("advise", "--root", root, "--no-libvirt", "--json")
        check_json("advise --json", out, [CMDLINE_JSON, f"linux/{OS_DISTRO}/12"])

        conf = os.path.join(tmp, "empty.conf")
        open(conf, "w").close()
        bal = ["balance", "--oneshot", "--dry-run", "--root", root, "--no-libvirt",
               "--config", conf]
        out = run(*bal)
        check_terminal("balance (text)", out, [CMDLINE_STATUS_TERM])
        out = run(*bal, "--json")
        doc = check_json("balance --json", out, [CMDLINE_JSON])

        # ksmvirt status renders what the daemon sends: names from its
        # guests and from inspection, and bytes that are not UTF-8.
        doc = doc or json.loads(out.decode("utf-8", "replace"))
        doc["inspection"] = {"enabled": True, "timeout_s": 600, "guests": [
            {"name": REG_NAME, "state": "done", "cached": True,
             "os": {"product_name": OS_PRODUCT, "family": f"linux/{OS_DISTRO}/12"}},
            {"name": "failed\x1b[5m", "state": "failed", "os": {"reason": "guestfs said \x1b[2J\nno"}},
        ]}
        doc["notes"] = ["note about \x1b[31mred\x1b[0m"]
        raw = json.dumps(doc, ensure_ascii=False).encode("utf-8").replace(b"line2\\\\xff", b"line2\xff") + b"\n"
        sock = os.path.join(tmp, "ksmvirtd.sock")
        stop = threading.Event()
        t = threading.Thread(target=serve_status, args=(sock, raw, stop))
        t.start()
        try:
            while not os.path.exists(sock):
                pass
            out = run("status", "--socket", sock)
            check_terminal("status (text)", out, [CMDLINE_STATUS_TERM, REG_TERM, "failed\\x1b[5m",
                                                  "12.7\\u009b31m (linux/deb\"ian\\\\\\x1b[2J<b>/12)",
                                                  "guestfs said \\x1b[2J\\nno", "\\x1b[31mred\\x1b[0m"])
            out = run("status", "--socket", sock, "--json")
            check_json("status --json", out, [CMDLINE_JSON, REG_NAME, OS_PRODUCT])
        finally:
            stop.set()
            t.join()
        check_daemon_log(tmp)
    print(f"1..{n}")
    print(f"{n - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
