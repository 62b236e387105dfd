#!/bin/bash
# Renders nginx.conf and a document root for one build configuration into $WAYFINDER_BUILD_DIR.
# NGINX options are build parameters: a change renders a new "build" that tests then reuse.
set -euo pipefail

: "${WAYFINDER_BUILD_DIR:?run by wayfinder: WAYFINDER_BUILD_DIR is not set}"
out=$WAYFINDER_BUILD_DIR
on() { if [ "$1" = true ]; then echo on; else echo off; fi; }

mkdir -p "$out/html"
# A small static page, the size Wayfinder's NGINX study served (612 bytes: NGINX's welcome page).
head -c "${PAYLOAD_BYTES:-612}" /dev/zero | tr '\0' 'w' > "$out/html/index.html"

if [ "${NGINX_ACCESS_LOG:-true}" = true ]; then
  access_log='access_log logs/access.log;'
else
  access_log='access_log off;'
fi
if [ "${NGINX_OPEN_FILE_CACHE:-false}" = true ]; then
  open_file_cache='open_file_cache max=1000 inactive=20s; open_file_cache_valid 30s;'
else
  open_file_cache='open_file_cache off;'
fi

cat > "$out/nginx.conf" <<CONF
# Rendered by scripts/build/nginx-conf.sh for build $WAYFINDER_BUILD_ID
daemon off;
master_process on;
worker_processes ${NGINX_WORKER_PROCESSES:-auto};
pid logs/nginx.pid;
error_log logs/error.log warn;
events {
    worker_connections 1024;
}
http {
    sendfile $(on "${NGINX_SENDFILE:-true}");
    tcp_nopush $(on "${NGINX_TCP_NOPUSH:-true}");
    keepalive_timeout ${NGINX_KEEPALIVE_TIMEOUT:-75};
    $access_log
    $open_file_cache
    default_type text/html;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {
        listen 127.0.0.1:8080 backlog=${NGINX_BACKLOG:-511};
        root $out/html;
        location / { }
    }
}
CONF
nginx -t -q -p "$out/" -c "$out/nginx.conf" -e /dev/stderr 2>&1 | grep -v 'could not open error log' >&2 || true
echo "rendered $out/nginx.conf"
