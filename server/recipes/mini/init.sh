#!/bin/sh
# mini: the smallest useful tenant. httpd serves a page that names the tenant; /env.txt shows the
# environment the app started with, so tests can see env changes over HTTP. The shell stays PID 1
# to turn SIGTERM into a clean exit (PID 1 ignores signals it has no handler for).
mkdir -p /tmp/www
echo "hello from ${TENANT_NAME:-tenant}" > /tmp/www/index.html
env > /tmp/www/env.txt
/bin/busybox httpd -f -p "${PORT:-8080}" -h /tmp/www &
pid=$!
trap 'kill -TERM $pid; wait $pid; exit 0' TERM INT
wait $pid
