# bash completion for tuskctl(1) — installed as
# share/bash-completion/completions/tuskctl.
#
# Commands come from `tuskctl --help` (the one table in ui/cli/main.c);
# options and their values are listed here (tests/integration/
# test_packaging.py checks them against that table). Connection names, ids
# and query ids are asked of the running broker with --no-start and a
# one-second bound: with no broker, or a stuck one, they are simply absent.

# Ask the running broker (never start one); prints JSON or nothing.
_tuskctl_ask()
{
	local ctl=$1
	shift
	timeout 1 "$ctl" --no-start --json "$@" 2>/dev/null
}

# Values of one JSON string key in a document, one a line.
_tuskctl_json_values()
{
	grep -o -E "\"$1\":\"[^\"\\\\]*\"" | sed -E "s/^\"$1\":\"(.*)\"\$/\\1/"
}

# Open connections: names and ids.
_tuskctl_conns()
{
	local out
	out=$(_tuskctl_ask "$1" status) || return 0
	out=${out#*\"connections\":}
	printf '%s\n' "$out" | _tuskctl_json_values name
	printf '%s\n' "$out" | _tuskctl_json_values connection_id
}

_tuskctl()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi
	local ctl=${words[0]}
	command -v -- "$ctl" >/dev/null 2>&1 || ctl=tuskctl

	# the command: the first word after the global options
	local i cmd="" cmd_at=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--json | --no-start) ;;
		-*) ;;
		*)
			cmd=${words[i]}
			cmd_at=$i
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--json --no-start --version --help' -- "$cur"))
		else
			local cmds
			cmds=$("$ctl" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
			COMPREPLY=($(compgen -W "$cmds help" -- "$cur"))
		fi
		return 0
	fi

	# values of options that take one (short options mean different things
	# to different commands, hence command:option)
	case $cmd:$prev in
	query:-c | running:-c | *:--connection)
		COMPREPLY=($(compgen -W "$(_tuskctl_conns "$ctl")" -- "$cur"))
		return 0
		;;
	query:-f | *:--format)
		COMPREPLY=($(compgen -W 'table csv json' -- "$cur"))
		return 0
		;;
	top:-s | *:--sort)
		COMPREPLY=($(compgen -W 'cpu elapsed memory' -- "$cur"))
		return 0
		;;
	events:-t | *:--topics)
		local pre=""
		[[ $cur == *,* ]] && pre=${cur%,*},
		COMPREPLY=($(compgen -P "$pre" -W 'workers connections queries' -- "${cur##*,}"))
		compopt -o nospace 2>/dev/null
		return 0
		;;
	connect:-s | *:--ssl-mode)
		COMPREPLY=($(compgen -W 'disable allow prefer require verify-ca verify-full' -- "$cur"))
		return 0
		;;
	*:--ssl-ca | *:--ssl-cert | *:--ssl-key)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	connect:-h | *:--host)
		COMPREPLY=($(compgen -A hostname -- "$cur"))
		return 0
		;;
	connect:-[pUdnt] | query:-[mtqN] | top:-i | logs:-n | *:--port | *:--username | *:--dbname | \
		*:--name | *:--statement-timeout | *:--max-rows | *:--timeout | *:--query-id | *:--null | \
		*:--interval | *:--lines)
		return 0
		;;
	esac

	local opts="" args=""
	case $cmd in
	connect)
		opts='--host --port --username --dbname --name --ssl-mode --ssl-ca --ssl-cert
		      --ssl-key --read-only --statement-timeout --password-stdin --no-password'
		;;
	disconnect)
		[[ $cword -eq $((cmd_at + 1)) ]] && args=$(_tuskctl_conns "$ctl")
		;;
	query)
		opts='--connection --format --max-rows --timeout --query-id --null --no-header'
		;;
	cancel)
		[[ $cword -eq $((cmd_at + 1)) ]] &&
			args=$(_tuskctl_ask "$ctl" running | _tuskctl_json_values query_id)
		;;
	running)
		opts='--connection'
		;;
	workers)
		opts='--all'
		;;
	top)
		opts='--sort --interval'
		;;
	kill)
		[[ $cword -eq $((cmd_at + 1)) ]] && args=$(_tuskctl_conns "$ctl")
		;;
	events)
		opts='--topics'
		;;
	log-level)
		[[ $cword -eq $((cmd_at + 1)) ]] && args='error warn info debug trace'
		;;
	logs)
		opts='--path --lines --follow'
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	else
		COMPREPLY=($(compgen -W "$args" -- "$cur"))
	fi
	return 0
}
complete -F _tuskctl tuskctl
