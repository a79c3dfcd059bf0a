#!/usr/bin/env python3
"""Probes behind the "probe 3" observations in spec/src/open-questions.md.

  flock /tmp/peers.lock python3 spec/tools/probe-process-state.py [PART ...]

PART is any of before_start (OQ-4), transports (OQ-3), addrs (OQ-5) and
affinity (OQ-1); all four by default. The applications are started with
conformance/peers/start.sh (FCGI_PEERS_BIN names the prebuilt echo
programs), or by hand where a probe needs a start that start.sh does not
offer (a socket on descriptor 0, an IPv6 address), each in its own process
group, and stopped by that group. Every probe is one Responder request on a
fresh loopback connection, summarised by conformance/peers/tools/probe.py,
waiting at most 3 seconds. Standard library only; Linux (`ss` names the
process that holds an accepted socket).
"""
import os, re, shutil, signal, socket, subprocess, sys, tempfile, time
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PEERS = ROOT + "/conformance/peers"
sys.path.insert(0, PEERS + "/tools")
from fcgi_client import BEGIN_REQUEST, PARAMS, STDIN, RESPONDER, FcgiConn, begin_body, encode_params, record, stream
from probe import collect, summarize
BIN = os.environ.get("FCGI_PEERS_BIN", "/work/main/target/peers-bin")
TMP = tempfile.mkdtemp(prefix="probe-process-state.")
S = os.path.join(TMP, "scratch")
os.makedirs(S, exist_ok=True)
APPS = ["php-fpm", "php-cgi", "fcgiwrap", "libfcgi", "flup", "go"]

def start(name, arg=None, env=None):
    e = dict(os.environ); e["FCGI_PEERS_BIN"] = BIN
    e.pop("FCGI_WEB_SERVER_ADDRS", None)
    if env: e.update(env)
    cmd = ["sh", PEERS + "/start.sh", name, S] + ([arg] if arg else [])
    r = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return None, [], r.stderr.strip().splitlines()[-1:] 
    addr, params = None, []
    for l in r.stdout.splitlines():
        if l.startswith("ADDR="): addr = l[5:]
        if l.startswith("PARAM="): params.append(tuple(l[6:].split("=", 1)))
    return addr, params, None

def stop(name):
    subprocess.run(["sh", PEERS + "/stop.sh", name, S], capture_output=True, timeout=30)

class Conn(FcgiConn):
    def __init__(self, addr, timeout=3.0):
        if addr.startswith("unix:"): addr = addr[5:]
        if addr.startswith("["):
            host, port = addr[1:].split("]:")
            self.sock = socket.create_connection((host, int(port)), timeout=timeout)
            self.buf = b""; self.raw = b""; self.eof = False
        else:
            super().__init__(addr, timeout)

def request(params, rid=1):
    return record(BEGIN_REQUEST, rid, begin_body(RESPONDER, 0)) + stream(PARAMS, rid, encode_params(params + [("ECHO_OBS", "1")])) + stream(STDIN, rid, b"")

def one(addr, params, timeout=3.0):
    try:
        c = Conn(addr, timeout)
    except OSError as e:
        return "connect failed: %s" % e
    try:
        c.send(request(params))
        recs, closed, to = collect(c, 1, timeout)
        return summarize(recs, closed, to)
    except OSError as e:
        return "error: %s" % e
    finally:
        c.sock.close()

def version_lines():
    out = []
    for cmd in (["php-fpm8.2", "-v"], ["php-cgi", "-v"], ["dpkg-query", "-W", "fcgiwrap", "libfcgi0ldbl", "spawn-fcgi", "golang-go", "nginx-light", "lighttpd"], ["python3", "-c", "import importlib.metadata as m, sys; print('flup', m.version('flup'), 'on CPython', sys.version.split()[0])"], ["go", "version"]):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            out.append(" ".join(cmd[:1]) + ": " + (r.stdout or r.stderr).strip().splitlines()[0] if cmd[0] != "dpkg-query" else "dpkg: " + "; ".join(r.stdout.strip().splitlines()))
        except Exception as e:
            out.append("%s: %s" % (cmd[0], e))
    return out

def part_transports():
    print("## OQ-3 transports: one Responder request on each transport")
    for name in APPS:
        sock = TMP + "/%s.sock" % name
        addr, params, err = start(name, sock)
        if err: print("%-9s unix: did not start: %s" % (name, err)); continue
        print("%-9s unix %s: %s" % (name, addr, one(addr, params)))
        stop(name)
    # IPv6 loopback: started by hand where the program takes an address.
    def free6():
        s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); p = s.getsockname()[1]; s.close(); return p
    flup_v6 = ("import sys; sys.argv = ['echo.py', 'x']; "
               "exec(open(%r).read().split('if __name__')[0]); "
               "from flup.server.fcgi import WSGIServer; WSGIServer(app, bindAddress=('::1', %%d)).run()"
               % (PEERS + "/flup/echo.py"))
    for name in ["go", "libfcgi", "fcgiwrap", "php-cgi", "flup"]:
        addr, params, err = start(name)   # for the params and the scripts under S/name/
        stop(name)
        port = free6()
        cmd = {"go": [BIN + "/echo-go", "[::1]:%d" % port],
               "libfcgi": ["spawn-fcgi", "-n", "-a", "::1", "-p", str(port), "--", BIN + "/echo-libfcgi"],
               "fcgiwrap": ["/usr/sbin/fcgiwrap", "-f", "-c", "2", "-s", "tcp6:[::1]:%d" % port],
               "php-cgi": ["env", "PHP_FCGI_CHILDREN=2", "php-cgi", "-n", "-b", "[::1]:%d" % port],
               "flup": ["python3", "-c", flup_v6 % port]}[name]
        log = open(TMP + "/%s-v6.log" % name, "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        time.sleep(2)
        if p.poll() is not None:
            print("%-9s [::1]: exited %s at start (%s)" % (name, p.returncode, open(log.name).read().strip()[-120:].replace("\n", " | ")))
            continue
        print("%-9s [::1]:%d: %s" % (name, port, one("[::1]:%d" % port, params)))
        os.killpg(p.pid, signal.SIGTERM); p.wait(5)
    # php-fpm on [::1]: start.sh's pool file with the listen line changed
    port = free6()
    addr, params, err = start("php-fpm")
    stop("php-fpm")
    pool = open(S + "/php-fpm/pool.conf").read()
    pool = re.sub(r"^listen\s*=.*$", "listen = [::1]:%d" % port, pool, flags=re.M)
    open(TMP + "/pool6.conf", "w").write(pool)
    log = open(TMP + "/php-fpm-v6.log", "w")
    p = subprocess.Popen(["php-fpm8.2", "-F", "-R", "-y", TMP + "/pool6.conf"], stdout=log, stderr=log, start_new_session=True)
    time.sleep(2)
    print("%-9s [::1]:%d: %s" % ("php-fpm", port, one("[::1]:%d" % port, params) if p.poll() is None else "did not start"))
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM); p.wait(5)

def part_addrs():
    print("## OQ-5 FCGI_WEB_SERVER_ADDRS in the application's environment, request from 127.0.0.1")
    values = ["192.0.2.1", "127.0.0.1", "192.0.2.1,127.0.0.1", "192.0.2.1, 127.0.0.1", ""]
    for name in APPS:
        for v in values:
            addr, params, err = start(name, env={"FCGI_WEB_SERVER_ADDRS": v})
            if err: print("%-9s %-24r did not start: %s" % (name, v, err)); continue
            print("%-9s %-24r %s" % (name, v, one(addr, params)))
            stop(name)
        sock = TMP + "/%s.sock" % name
        addr, params, err = start(name, sock, env={"FCGI_WEB_SERVER_ADDRS": "127.0.0.1"})
        if err: print("%-9s unix, '127.0.0.1' did not start: %s" % (name, err)); continue
        print("%-9s %-24s %s" % (name, "unix, '127.0.0.1'", one(addr, params)))
        stop(name)

def part_before_start():
    print("## OQ-4 a connection made before the application process starts (socket on descriptor 0)")
    # params as start.sh would give them
    cases = {}
    for name in ("libfcgi", "fcgiwrap", "php-cgi"):
        addr, params, err = start(name); stop(name)
        cases[name] = params
    cmds = {
        "libfcgi": [BIN + "/echo-libfcgi"],
        "fcgiwrap": ["/usr/sbin/fcgiwrap", "-f", "-c", "2"],
        "php-cgi": ["env", "PHP_FCGI_CHILDREN=2", "PHP_FCGI_MAX_REQUESTS=0", "php-cgi", "-n"],
    }
    for name, cmd in cmds.items():
        ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(16)
        port = ls.getsockname()[1]
        early = Conn("127.0.0.1:%d" % port, 5.0)
        early.send(request(cases[name]))       # sits in the backlog: nobody accepts yet
        time.sleep(0.5)
        log = open(TMP + "/%s-fd0.log" % name, "w")
        p = subprocess.Popen(cmd, stdin=ls.fileno(), stdout=log, stderr=log, start_new_session=True)
        ls.close()
        t0 = time.monotonic()
        recs, closed, to = collect(early, 1, 5.0)
        print("%-9s early connection (request sent 0.5 s before exec): %s [%.2f s after exec]" % (name, summarize(recs, closed, to), time.monotonic() - t0))
        print("%-9s connection after start: %s" % (name, one("127.0.0.1:%d" % port, cases[name])))
        early.sock.close()
        os.killpg(p.pid, signal.SIGTERM)
        try: p.wait(5)
        except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); p.wait(5)

def owner(port):
    r = subprocess.run(["ss", "-Htnp", "state", "established", "( sport = :%d )" % port], capture_output=True, text=True)
    m = re.findall(r"pid=(\d+)", r.stdout)
    return m[0] if m else "?"

def part_affinity():
    print("## OQ-1 which process accepts each new connection (6 connections in a row, one request each)")
    for name in ("php-fpm", "php-cgi", "fcgiwrap"):
        addr, params, err = start(name)
        if err: print(name, "did not start", err); continue
        port = int(addr.rsplit(":", 1)[1])
        seen = []
        for i in range(6):
            c = Conn(addr, 3.0)
            time.sleep(0.2)
            seen.append(owner(port))
            c.send(request(params)); collect(c, 1, 3.0); c.sock.close()
            time.sleep(0.2)
        print("%-9s accepting pids: %s" % (name, " ".join(seen)))
        stop(name)
    # held connections: two at once
    for name in ("php-fpm", "php-cgi", "fcgiwrap"):
        addr, params, err = start(name)
        port = int(addr.rsplit(":", 1)[1])
        a = Conn(addr, 3.0); b = Conn(addr, 3.0); time.sleep(0.3)
        r = subprocess.run(["ss", "-Htnp", "state", "established", "( sport = :%d )" % port], capture_output=True, text=True)
        print("%-9s two connections held at once: pids %s" % (name, " ".join(re.findall(r"pid=(\d+)", r.stdout))))
        a.sock.close(); b.sock.close()
        stop(name)

if __name__ == "__main__":
    print("# observed", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    for l in version_lines(): print("#", l)
    try:
        for part in sys.argv[1:] or ["transports", "addrs", "before_start", "affinity"]:
            globals()["part_" + part]()
            sys.stdout.flush()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
