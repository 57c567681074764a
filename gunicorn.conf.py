"""gunicorn settings for one app host:

    gunicorn -c gunicorn.conf.py 'disclosure_app:create_app()'

Sized for the 2-core reference host (SECURITY.md §4.3): (2 × cores) + 1 = 5 sync workers behind a
buffering reverse proxy, which is REQUIRED: a sync worker is held for as long as a client takes to
send its request, so a few slow clients would hold them all. Use the nginx configuration in
deploy/nginx (tests/security/test_slow_clients.py runs it), or a proxy that likewise buffers whole
requests and responses. gunicorn binds to loopback only, so the proxy is the only way in. Each
sync worker serves one request at a time with one database session,
so it holds at most one database connection: 5 per host (the SQLAlchemy pool only keeps it open).
Override with environment variables: ``GUNICORN_BIND``, ``WEB_CONCURRENCY``,
``FORWARDED_ALLOW_IPS``.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
timeout = 30  # a worker stuck longer than this is killed and replaced (its transaction rolls back)
graceful_timeout = 30
# Recycle workers now and then (memory growth in long-lived processes), staggered so they do not
# all restart at once.
max_requests = 1000
max_requests_jitter = 100
# No gunicorn access log: an applicant's private status link is a secret in the URL path. Log
# requests at the proxy with the path of /status/… redacted if you need them.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Trust X-Forwarded-* only from the reverse proxy in front of this host.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Each worker builds its own app (and runs the start-up self-check): no state is shared through
# fork, and a worker that is replaced starts clean.
preload_app = False
