#!/bin/sh
# Run a command as root: directly when we are root, else through sudo.
if [ "$(id -u)" = 0 ]; then
	exec "$@"
fi
if command -v sudo >/dev/null 2>&1; then
	echo "(installing dependencies needs root: running sudo $*)" >&2
	exec sudo "$@"
fi
echo "error: '$*' needs root; run it as root, or install the packages it lists" >&2
exit 1
