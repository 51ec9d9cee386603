#!/bin/sh
# Starts Alertmanager with Telegram's chat id written into its configuration: the id must be a
# number in the file (Alertmanager reads no file or variable for it), and it comes from
# TELEGRAM_CHAT_ID (the .env file, or the Kubernetes Secret sarathi-alertmanager). Without it the
# placeholder stays and Telegram refuses the messages (Alertmanager logs the failure).
#   start.sh [alertmanager flags...]
# ALERTMANAGER_TEMPLATE and ALERTMANAGER_CONFIG (where to read and write) default to the paths of
# the container; the rendered file is under /tmp, the one writable place.
set -eu
template="${ALERTMANAGER_TEMPLATE:-/etc/alertmanager/alertmanager.yml}"
config="${ALERTMANAGER_CONFIG:-/tmp/alertmanager.yml}"
chat_id="${TELEGRAM_CHAT_ID:-}"

case "$chat_id" in
    "")
        echo "start.sh: TELEGRAM_CHAT_ID is not set: Telegram messages will fail until it is" \
            "(deploy/README.md, 'Alerts reach a person')" >&2
        cp "$template" "$config"
        ;;
    *[!0-9-]* | ?*-* | - | -0* | 0*)
        echo "start.sh: TELEGRAM_CHAT_ID must be a Telegram chat id: an integer such as" \
            "123456789 or -1001234567890" >&2
        exit 2
        ;;
    *)
        sed "s/^\([[:space:]]*chat_id:\) -1000000000000\( .*\)\{0,1\}$/\1 $chat_id/" "$template" >"$config"
        ;;
esac
exec alertmanager --config.file="$config" "$@"
