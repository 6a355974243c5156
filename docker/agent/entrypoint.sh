#!/bin/sh
# Agent container entrypoint: wire the credentials volume into the config dir,
# then run the command (default: stay alive for `docker exec`).
set -eu

config_dir="${CLAUDE_CONFIG_DIR:-/home/node/.claude}"
cred_file=/home/node/.claude-credentials/.credentials.json
link="$config_dir/.credentials.json"

# The credentials live in their own volume so they can be shared/rotated
# independently of the config volume. Replace only a missing file or a link,
# never a real credentials file someone put there.
if [ ! -f "$link" ] || [ -L "$link" ]; then
  ln -sfn "$cred_file" "$link" 2>/dev/null \
    || echo "entrypoint: warning: could not link $link -> $cred_file" >&2
fi

exec "$@"
