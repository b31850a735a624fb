#!/usr/bin/env bash
# Brings the time-based retention policy of each vigil container to the state and days asked for,
# and checks the result. main.json runs it as a deployment script (so every deployment ends with
# the policies Locked); an operator can run it by hand with the same variables and an az login.
#
#   RESOURCE_GROUP  the resource group of vigil's storage account
#   ACCOUNT         vigil's storage account (st<base>data...)
#   RETENTION       space-separated container=days pairs, e.g. "evidence=365 outbox=30"
#   POLICY_STATE    Locked (default) or Unlocked
#
# What it does per container, with management-plane calls only (the account's firewall does not
# apply to them):
#   no policy, or Unlocked  set the days (create or update), then lock when Locked is asked
#   Locked, fewer days      extend to the days asked (a locked policy can only be extended)
#   Locked, more days       stop with an error: a locked policy cannot be shortened
#   Locked, Unlocked asked  leave it locked and say so: locking cannot be undone
# Locking is irreversible: the container can then be deleted only when empty, and its blobs only
# after their retention.
set -euo pipefail

: "${RESOURCE_GROUP:?RESOURCE_GROUP is not set}"
: "${ACCOUNT:?ACCOUNT is not set}"
: "${RETENTION:?RETENTION is not set (container=days pairs)}"
POLICY_STATE="${POLICY_STATE:-Locked}"
WAIT_SECONDS="${RETENTION_WAIT_SECONDS:-15}"
if [ "$POLICY_STATE" != "Locked" ] && [ "$POLICY_STATE" != "Unlocked" ]; then
  echo "retention: POLICY_STATE must be Locked or Unlocked, not '$POLICY_STATE'" >&2
  exit 2
fi

say() { echo "retention: $*"; }
fail() {
  echo "retention: $*" >&2
  exit 1
}

# Role assignments made by the same deployment can take minutes to reach the management plane:
# wait until the container can be read before deciding anything from what we can or cannot see.
wait_readable() {
  local container="$1" attempt
  for attempt in $(seq 1 20); do
    if az storage container-rm show --resource-group "$RESOURCE_GROUP" \
      --storage-account "$ACCOUNT" --name "$container" --query name -o tsv >/dev/null 2>&1; then
      return 0
    fi
    say "$container: not readable yet (attempt $attempt of 20), waiting $WAIT_SECONDS s for role assignments"
    sleep "$WAIT_SECONDS"
  done
  fail "$container: cannot read the container in $ACCOUNT (missing, or no permission)"
}

# Prints "state days etag" of the container's policy, or nothing when it has none.
policy() {
  az storage container immutability-policy show --resource-group "$RESOURCE_GROUP" \
    --account-name "$ACCOUNT" --container-name "$1" \
    --query "[properties.state || state, properties.immutabilityPeriodSinceCreationInDays || immutabilityPeriodSinceCreationInDays, etag]" \
    -o tsv 2>/dev/null | tr '\t' ' ' || true
}

for pair in $RETENTION; do
  container="${pair%%=*}"
  days="${pair#*=}"
  case "$days" in
  '' | *[!0-9]*) fail "RETENTION entry '$pair': expected container=days with whole days" ;;
  esac
  wait_readable "$container"

  read -r state current etag <<<"$(policy "$container")" || true
  state="${state:-}"
  current="${current:-0}"
  etag="${etag:-}"
  if [ "$state" = "Locked" ]; then
    if [ "$current" -lt "$days" ]; then
      say "$container: extending the locked policy from $current to $days days"
      az storage container immutability-policy extend --resource-group "$RESOURCE_GROUP" \
        --account-name "$ACCOUNT" --container-name "$container" --period "$days" \
        --if-match "$etag" -o none
    elif [ "$current" -gt "$days" ]; then
      fail "$container: the policy is Locked at $current days and cannot be shortened to $days; raise the parameter to $current or more"
    fi
    if [ "$POLICY_STATE" = "Unlocked" ]; then
      say "$container: the policy is already Locked; locking cannot be undone, so it stays Locked"
    fi
  else
    if [ "$state" = "" ] || [ "$current" != "$days" ]; then
      say "$container: setting an Unlocked policy of $days days"
      if [ "$etag" = "" ]; then
        az storage container immutability-policy create --resource-group "$RESOURCE_GROUP" \
          --account-name "$ACCOUNT" --container-name "$container" --period "$days" \
          --allow-protected-append-writes false -o none
      else
        az storage container immutability-policy create --resource-group "$RESOURCE_GROUP" \
          --account-name "$ACCOUNT" --container-name "$container" --period "$days" \
          --allow-protected-append-writes false --if-match "$etag" -o none
      fi
    fi
    if [ "$POLICY_STATE" = "Locked" ]; then
      read -r state current etag <<<"$(policy "$container")" || true
      [ "${etag:-}" != "" ] || fail "$container: the policy just set cannot be read back"
      say "$container: locking the policy of $days days (irreversible)"
      az storage container immutability-policy lock --resource-group "$RESOURCE_GROUP" \
        --account-name "$ACCOUNT" --container-name "$container" --if-match "$etag" -o none
    fi
  fi

  # Check what Azure now holds, not what we asked for.
  read -r state current etag <<<"$(policy "$container")" || true
  if [ "${state:-}" = "Locked" ] && [ "$POLICY_STATE" = "Unlocked" ]; then
    expected="Locked"
  else
    expected="$POLICY_STATE"
  fi
  [ "${state:-}" = "$expected" ] || fail "$container: the policy is '${state:-none}', expected $expected"
  [ "${current:-0}" -ge "$days" ] || fail "$container: the policy keeps ${current:-0} days, expected $days"
  say "$container: $state, $current days"
done
