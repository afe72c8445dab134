"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py 'academy:create_app()'`.

Values come from the environment so that systemd units and containers can tune them.
"""

import multiprocessing
import os

bind = os.environ.get("ACADEMY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ACADEMY_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "sync"
timeout = int(os.environ.get("ACADEMY_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: WeasyPrint keeps large font buffers between renders.
max_requests = int(os.environ.get("ACADEMY_MAX_REQUESTS", 2000))
max_requests_jitter = 200
preload_app = False
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("ACADEMY_LOG_LEVEL", "info")
access_log_format = (
    '{"time":"%(t)s","remote":"%(h)s","method":"%(m)s","path":"%(U)s","status":%(s)s,'
    '"bytes":%(B)s,"duration_us":%(D)s,"agent":"%(a)s"}'
)
# gunicorn ≥ 27 opens a control socket in ~/.gunicorn by default; the service does not use it.
control_socket_disable = True
