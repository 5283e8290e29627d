#!/bin/sh
# mini: the smallest useful tenant. PID 1 is busybox httpd serving a page that names the tenant;
# /env.txt shows the environment the app started with, so tests can see env changes over HTTP.
mkdir -p /tmp/www
echo "hello from ${TENANT_NAME:-tenant}" > /tmp/www/index.html
env > /tmp/www/env.txt
exec /bin/busybox httpd -f -p "${PORT:-8080}" -h /tmp/www
