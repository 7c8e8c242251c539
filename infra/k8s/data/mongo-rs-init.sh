#!/bin/sh
# rs-init sidecar of every MongoDB StatefulSet: makes the mongods of the StatefulSet one replica set
# (transactions need one) and then idles. Idempotent: once the set is initiated (the configuration lives
# on the data volume) it only reports so. Runs in the official mongo image, which ships mongosh.
#
# Environment: POD_NAME (downward API), GOVERNING_SERVICE (the headless Service), REPLICA_SET, and
# MEMBERS (the StatefulSet's replicas: 1 in the base, 3 in production). Member i's host is
# "<statefulset>-i.$GOVERNING_SERVICE:27017" (e.g. auth-mongo-0.auth-mongo:27017), the names the services'
# MONGO_URL uses, so the drivers' replica-set discovery finds them. Member 0 initiates the set with all of
# them (which waits until every member answers); with more than one member it then makes majority the
# default write concern. The other members' sidecars only report.
set -u

: "${POD_NAME:?POD_NAME is required}"
: "${GOVERNING_SERVICE:?GOVERNING_SERVICE is required}"
: "${REPLICA_SET:=rs0}"
: "${MEMBERS:=1}"
ordinal="${POD_NAME##*-}"
statefulset="${POD_NAME%-*}"
members=""
i=0
while [ "$i" -lt "$MEMBERS" ]; do
  members="${members}${members:+, }{ _id: ${i}, host: '${statefulset}-${i}.${GOVERNING_SERVICE}:27017' }"
  i=$((i + 1))
done

log() { echo "rs-init: $*"; }

until mongosh --quiet --host 127.0.0.1 --eval 'db.adminCommand({ ping: 1 }).ok' >/dev/null 2>&1; do
  log "waiting for mongod on 127.0.0.1:27017"
  sleep 2
done

attempt=0
while :; do
  attempt=$((attempt + 1))
  if out=$(mongosh --quiet --host 127.0.0.1 --eval "
      const want = { _id: '${REPLICA_SET}', members: [${members}] };
      let status = null;
      try { status = rs.status(); } catch (e) {
        if (e.codeName !== 'NotYetInitialized') { throw e; }
      }
      if (status === null && '${ordinal}' !== '0') {
        throw new Error('waiting for member 0 to initiate ' + want._id);
      } else if (status === null) {
        rs.initiate(want);
        print('initiated ' + want._id + ' with ' + want.members.map(m => m.host).join(', '));
      } else {
        print('already initiated: ' + status.set + ', ' + status.members.map(m => m.name + ' ' + m.stateStr).join(', '));
      }" 2>&1); then
    log "${out}"
    break
  fi
  # Typically a member's DNS name is not published yet, or (not member 0) the set is not initiated yet.
  log "attempt ${attempt} failed: ${out}"
  sleep 3
done

# A write is acknowledged once most members have it, so it survives the loss of the primary. Set on the
# primary, which the election after rs.initiate needs a few seconds to choose; kept in the set's config.
if [ "$MEMBERS" -gt 1 ] && [ "$ordinal" = "0" ]; then
  until out=$(mongosh --quiet --host 127.0.0.1 --eval "
      db.adminCommand({ setDefaultRWConcern: 1, defaultWriteConcern: { w: 'majority' } }).ok" 2>&1); do
    log "default write concern not set yet: ${out}"
    sleep 3
  done
  log "default write concern: majority"
fi

# Stay up so the pod does not restart this container (a container that exits would be restarted).
idle=""
trap 'if [ -n "$idle" ]; then kill "$idle" 2>/dev/null; fi; exit 0' TERM INT
while :; do
  sleep 3600 &
  idle=$!
  wait "$idle"
done
