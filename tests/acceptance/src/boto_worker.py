
# ---- worker: appended to issuer_support.py by issuer_support.rs ------------
# One Python per test process instead of one per snippet: starting Python,
# importing boto3 and loading its service models cost ~0.45 s of CPU each
# time, and a test runs dozens of snippets. Reads one JSON request a line on
# stdin ({"ep", "args", "body"}), runs the body as a fresh snippet would
# (EP and ARGS set, the prelude's functions, its own namespace), writes one
# JSON line back ({"ok", "stdout", "error"}). Clients are kept per
# (service, region, endpoint). Ends when stdin closes (the test is over).
import contextlib
import io
import traceback

_clients = {}
_new_client = client


def client(service, region=REGION):
    key = (service, region, EP)
    if key not in _clients:
        _clients[key] = _new_client(service, region)
    return _clients[key]


_reply = sys.stdout
for _line in sys.stdin:
    _req = json.loads(_line)
    EP = _req["ep"]
    ARGS = _req["args"]
    _buf = io.StringIO()
    _ok, _err = True, ""
    _ns = dict(globals())
    try:
        with contextlib.redirect_stdout(_buf):
            exec(compile(_req["body"], "<snippet>", "exec"), _ns)
    except BaseException:  # a snippet's failure is the caller's to report
        _ok, _err = False, traceback.format_exc()
    _reply.write(json.dumps({"ok": _ok, "stdout": _buf.getvalue(), "error": _err}) + "\n")
    _reply.flush()
