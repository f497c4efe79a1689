#!/usr/bin/env bash
# Make sure the local PostgreSQL and MariaDB used by the integration tests are up.
set -u
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
my_up() { mariadb -uroot -h127.0.0.1 -P3306 -e 'select 1' >/dev/null 2>&1 || mysql -uroot -h127.0.0.1 -P3306 -e 'select 1' >/dev/null 2>&1; }

if ! pg_up && [ -d /etc/postgresql ]; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! my_up && [ -x /usr/sbin/mariadbd ]; then
  echo "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
for _ in $(seq 1 30); do
  if pg_up && my_up; then exit 0; fi
  sleep 1
done
pg_up || echo "warning: PostgreSQL is not reachable on 127.0.0.1:5432; its tests will be skipped" >&2
my_up || echo "warning: MariaDB is not reachable on 127.0.0.1:3306; its tests will be skipped" >&2
exit 0
