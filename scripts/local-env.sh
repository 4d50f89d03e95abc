# Sourced by the scripts: connection settings of the local stack, honouring the port overrides of infra/local.
# A stack that already runs is used on the ports it runs on (unless the variables say otherwise).
# The account key below is Azurite's public development key, not a secret.
_icrm_data="$ROOT/infra/local/.data"
if [ -z "${AZURITE_BLOB_PORT:-}" ] && [ -f "$_icrm_data/azurite.ports" ] && [ -f "$_icrm_data/azurite.pid" ] && [ -d "/proc/$(cat "$_icrm_data/azurite.pid")" ]; then
  read -r AZURITE_BLOB_PORT AZURITE_QUEUE_PORT AZURITE_TABLE_PORT <"$_icrm_data/azurite.ports"
  export AZURITE_BLOB_PORT AZURITE_QUEUE_PORT AZURITE_TABLE_PORT
fi
if [ -z "${COSMOS_PORT:-}" ] && [ -f "$_icrm_data/cosmos.port" ] && [ -f "$_icrm_data/cosmos.pid" ] && [ -d "/proc/$(cat "$_icrm_data/cosmos.pid")" ]; then
  COSMOS_PORT="$(cat "$_icrm_data/cosmos.port")"
  export COSMOS_PORT
fi
BLOB_PORT="${AZURITE_BLOB_PORT:-10000}"
QUEUE_PORT="${AZURITE_QUEUE_PORT:-10001}"
TABLE_PORT="${AZURITE_TABLE_PORT:-10002}"
COSMOS_PORT="${COSMOS_PORT:-8081}"
if [ "$BLOB_PORT$QUEUE_PORT$TABLE_PORT" = "100001000110002" ]; then
  ICRM_LOCAL_STORAGE="UseDevelopmentStorage=true"
else
  ICRM_LOCAL_STORAGE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/devstoreaccount1;TableEndpoint=http://127.0.0.1:$TABLE_PORT/devstoreaccount1;"
fi
ICRM_LOCAL_COSMOS="AccountEndpoint=https://127.0.0.1:$COSMOS_PORT/;AccountKey=bG9jYWw=;"

# True when the local stack's processes named in its pid files are alive.
stack_running() {
  local data="$ROOT/infra/local/.data" f pid
  for f in azurite.pid cosmos.pid; do
    [ -f "$data/$f" ] || return 1
    pid="$(cat "$data/$f")"
    [ -d "/proc/$pid" ] || return 1
  done
}
