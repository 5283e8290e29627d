#!/bin/sh
# mini: the smallest useful tenant. PID 1 is busybox httpd serving a page that names the tenant;
# /cgi-bin/env shows the environment so tests can see env changes over HTTP.
mkdir -p /tmp/www/cgi-bin
echo "hello from ${TENANT_NAME:-tenant}" > /tmp/www/index.html
printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\nenv\n' > /tmp/www/cgi-bin/env
chmod +x /tmp/www/cgi-bin/env
exec /bin/busybox httpd -f -p "${PORT:-8080}" -h /tmp/www
