"""gunicorn settings for relief (docs/deploy.md), shared by the systemd unit and
the Procfile: `gunicorn -c deploy/gunicorn.conf.py relief.wsgi`.

Environment overrides: GUNICORN_BIND, WEB_CONCURRENCY (workers), PORT (a PaaS
host's port, listened on all interfaces).
"""

import os

# Behind nginx on the same machine: loopback only, so nobody reaches the
# application without the proxy (BEHIND_PROXY=1 trusts its X-Forwarded-Proto).
if os.environ.get("GUNICORN_BIND"):
    bind = os.environ["GUNICORN_BIND"]
elif os.environ.get("PORT"):
    bind = f"0.0.0.0:{os.environ['PORT']}"
else:
    bind = "127.0.0.1:8000"

# Synchronous workers: nginx buffers slow uploads and downloads, so a worker is
# busy only while Django works. 2 x cores + 1 is gunicorn's rule of thumb; each
# worker laying out a PDF with CJK fonts may take 200-300 MB, so lower
# WEB_CONCURRENCY on a server with little memory.
# The cores this process may run on (a container's share, not the host's); on a
# PaaS host set WEB_CONCURRENCY to what its memory allows.
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)) * 2 + 1)

# A page that builds a 2,000-row roster preview or a 300-name PDF in the request
# takes seconds, not minutes (bigger work goes to the background worker); a
# request still running after 120 s is stuck, and its worker is replaced.
timeout = 120
graceful_timeout = 30
keepalive = 5

# Replace each worker after about 1,000 requests, so memory a PDF or a big
# spreadsheet left behind is returned; the jitter keeps them from all
# restarting at once.
max_requests = 1000
max_requests_jitter = 100

# Logs to stdout/stderr: journald (systemd) or the PaaS host's log keeps them.
accesslog = "-"
errorlog = "-"
# The access log's client address is nginx's; the real one is in nginx's log.

# systemd (systemctl reload) and the PaaS host manage the process; gunicorn's
# own control socket would be one more thing to secure.
control_socket_disable = True
