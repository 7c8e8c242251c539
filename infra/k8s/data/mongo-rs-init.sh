#!/bin/sh
# rs-init sidecar of every MongoDB StatefulSet: makes the mongod beside it a single-member replica set
# (transactions need one) and then idles. Idempotent: once the set is initiated (the configuration lives
# on the data volume) it only reports so. Runs in the official mongo image, which ships mongosh.
#
# Environment: POD_NAME (downward API), GOVERNING_SERVICE (the headless Service), REPLICA_SET.
# The member host is "$POD_NAME.$GOVERNING_SERVICE:27017" (e.g. auth-mongo-0.auth-mongo:27017),
# the same name the services' MONGO_URL uses, so the drivers' replica-set discovery finds it.
set -u

: "${POD_NAME:?POD_NAME is required}"
: "${GOVERNING_SERVICE:?GOVERNING_SERVICE is required}"
: "${REPLICA_SET:=rs0}"
member="${POD_NAME}.${GOVERNING_SERVICE}:27017"

log() { echo "rs-init: $*"; }

until mongosh --quiet --host 127.0.0.1 --eval 'db.adminCommand({ ping: 1 }).ok' >/dev/null 2>&1; do
  log "waiting for mongod on 127.0.0.1:27017"
  sleep 2
done

attempt=0
while :; do
  attempt=$((attempt + 1))
  if out=$(mongosh --quiet --host 127.0.0.1 --eval "
      const want = { _id: '${REPLICA_SET}', members: [{ _id: 0, host: '${member}' }] };
      let status = null;
      try { status = rs.status(); } catch (e) {
        if (e.codeName !== 'NotYetInitialized') { throw e; }
      }
      if (status === null) {
        rs.initiate(want);
        print('initiated ' + want._id + ' with member ' + '${member}');
      } else {
        print('already initiated: ' + status.set + ', ' + status.members.map(m => m.name + ' ' + m.stateStr).join(', '));
      }" 2>&1); then
    log "${out}"
    break
  fi
  # Typically the member's DNS name is not published yet; retry.
  log "attempt ${attempt} failed: ${out}"
  sleep 3
done

# Stay up so the pod does not restart this container (a container that exits would be restarted).
idle=""
trap 'if [ -n "$idle" ]; then kill "$idle" 2>/dev/null; fi; exit 0' TERM INT
while :; do
  sleep 3600 &
  idle=$!
  wait "$idle"
done
