# bash completion for tuskctl(1) — installed as
# share/bash-completion/completions/tuskctl.
#
# Commands come from `tuskctl --help` (the one table in ui/cli/main.c);
# subcommands, options and their values are listed here (tests/integration/
# test_packaging.py checks them against that table, `tuskctl connections
# help` and the getopt tables of ui/cli). Open connections, saved
# connections, preference keys and query ids are asked of the running
# broker with --no-start and a one-second bound (TUSK_COMPLETE_TIMEOUT
# seconds, if set): with no broker, or a stuck one, they are simply absent.
# Names are offered shell-quoted, so a saved connection called "prod eu"
# completes to prod\ eu.

# Ask the running broker (never start one); prints JSON or nothing.
_tuskctl_ask()
{
	local ctl=$1
	shift
	timeout "${TUSK_COMPLETE_TIMEOUT:-1}" "$ctl" --no-start --json "$@" 2>/dev/null
}

# Values of one JSON string key in a document, one a line (values holding
# quotes or backslashes are left out rather than half-parsed).
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

# Saved connections: names.
_tuskctl_saved()
{
	_tuskctl_ask "$1" connections list | _tuskctl_json_values name
}

# Preference keys: those set, and broker.NAME for each setting of the
# tuskd that tuskctl would start (the one beside it, else on PATH).
_tuskctl_pref_keys()
{
	_tuskctl_ask "$1" prefs list | _tuskctl_json_values key
	local tuskd=tuskd self
	self=$(command -v -- "$1" 2>/dev/null)
	[[ $self == */* && -x ${self%/*}/tuskd ]] && tuskd=${self%/*}/tuskd
	timeout "${TUSK_COMPLETE_TIMEOUT:-1}" "$tuskd" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z]*_[a-z_]*\) .*/broker.\1/p'
}

# Saved queries: names.
_tuskctl_saved_queries()
{
	_tuskctl_ask "$1" saved list | _tuskctl_json_values name
}

# Queries queued or running: their ids.
_tuskctl_queries()
{
	_tuskctl_ask "$1" running | _tuskctl_json_values query_id
}

# The candidates (one a line on stdin) that start with $1, shell-quoted.
_tuskctl_match()
{
	local w q
	while IFS= read -r w; do
		[[ -n $w ]] || continue
		printf -v q '%q' "$w"
		[[ $q == "$1"* ]] && printf '%s\n' "$q"
	done
}

# How many operands (words that are neither options nor an option's value)
# words[$1 .. cword-1] hold, for connect and connections.
_tuskctl_operands()
{
	local i n=0
	for ((i = $1; i < cword; i++)); do
		[[ ${words[i]} == -* ]] && continue
		case ${words[i - 1]} in
		-[hpUdnsCEKt] | --host | --port | --username | --dbname | --name | --ssl-mode | --ssl-ca | \
			--ssl-cert | --ssl-key | --statement-timeout | --ssh | --ssh-key | --ssh-host | --ssh-port | \
			--ssh-user | --ssh-auth) ;;
		*) n=$((n + 1)) ;;
		esac
	done
	echo "$n"
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

	# the subcommand: the word after the command
	local sub=""
	case $cmd in
	connections | prefs | keychain | saved | backend)
		if [[ $cword -eq $((cmd_at + 1)) ]]; then
			case $cmd in
			backend) COMPREPLY=($(compgen -W 'cancel terminate' -- "$cur")) ;;
			connections) COMPREPLY=($(compgen -W 'list show add edit rm test help' -- "$cur")) ;;
			saved) COMPREPLY=($(compgen -W 'list show add rm run help' -- "$cur")) ;;
			prefs) COMPREPLY=($(compgen -W 'get set list' -- "$cur")) ;;
			keychain) COMPREPLY=($(compgen -W 'status' -- "$cur")) ;;
			esac
			return 0
		fi
		sub=${words[cmd_at + 1]}
		;;
	esac

	# values of options that take one (short options mean different things
	# to different commands, hence command:option)
	case $cmd:$prev in
	query:-c | running:-c | history:-c | saved:-c | table:-c | activity:-c | backend:-c | schema:-c | describe:-c | export:-c | import:-c | *:--connection)
		mapfile -t COMPREPLY < <(_tuskctl_conns "$ctl" | _tuskctl_match "$cur")
		return 0
		;;
	schema:-k | *:--kind)
		if [[ $cmd == schema ]]; then
			local pre=""
			[[ $cur == *,* ]] && pre=${cur%,*},
			COMPREPLY=($(compgen -P "$pre" -W 'schema table view matview foreign sequence function type' -- "${cur##*,}"))
			compopt -o nospace 2>/dev/null
		else
			COMPREPLY=($(compgen -W 'table partitioned_table view materialized_view foreign_table
			      sequence function procedure aggregate window enum domain composite range relation
			      routine type' -- "$cur"))
		fi
		return 0
		;;
	describe:-k)
		COMPREPLY=($(compgen -W 'table partitioned_table view materialized_view foreign_table
		      sequence function procedure aggregate window enum domain composite range relation
		      routine type' -- "$cur"))
		return 0
		;;
	export:-f | export:--format)
		COMPREPLY=($(compgen -W 'csv tsv json ndjson sql markdown' -- "$cur"))
		return 0
		;;
	import:-f | import:--format)
		COMPREPLY=($(compgen -W 'csv tsv' -- "$cur"))
		return 0
		;;
	query:-f | saved:-f | table:-f | *:--format)
		COMPREPLY=($(compgen -W 'table csv json' -- "$cur"))
		return 0
		;;
	history:-s | *:--status)
		COMPREPLY=($(compgen -W 'ok error cancelled' -- "$cur"))
		return 0
		;;
	export:-o | *:--output)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
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
	connect:-s | connections:-s | *:--ssl-mode)
		COMPREPLY=($(compgen -W 'disable prefer require verify-ca verify-full' -- "$cur"))
		return 0
		;;
	*:--ssh-auth)
		COMPREPLY=($(compgen -W 'password key_file agent' -- "$cur"))
		return 0
		;;
	connections:-[CEK] | *:--ssl-ca | *:--ssl-cert | *:--ssl-key | *:--ssh-key)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	connect:-h | connections:-h | *:--host | *:--ssh-host)
		COMPREPLY=($(compgen -A hostname -- "$cur"))
		return 0
		;;
	*:--ssh)
		# USER@HOST[:PORT]: the host after the user
		[[ $cur == *@* ]] && COMPREPLY=($(compgen -P "${cur%%@*}@" -A hostname -- "${cur#*@}"))
		return 0
		;;
	connect:-[pUdnt] | connections:-[pUdnt] | query:-[mtqN] | export:-[tdNQq] | import:-[tdNQCq] | \
		top:-i | logs:-n | *:--port | *:--table | *:--delimiter | *:--quote | *:--columns | \
		*:--username | *:--dbname | *:--name | *:--statement-timeout | *:--max-rows | *:--timeout | \
		*:--query-id | *:--null | *:--interval | *:--lines | *:--ssh-port | *:--ssh-user | \
		history:-n | *:--limit | saved:-[dF] | *:--description | *:--folder)
		return 0
		;;
	esac

	# options, static words, or names asked of the broker
	local opts="" args="" names=""
	local settings='--host --port --username --dbname --name --ssl-mode --ssl-ca --ssl-cert --ssl-key
	      --read-only --statement-timeout --ssh --ssh-host --ssh-port --ssh-user --ssh-auth --ssh-key
	      --ssh-agent'
	local secrets='--password-stdin --password --forget-password --ssh-secret-stdin --ssh-password-stdin --ssh-passphrase-stdin --ssh-secret
	      --forget-ssh-secret'
	case $cmd in
	health)
		opts='--dismiss'
		;;
	connect)
		opts='--host --port --username --dbname --name --ssl-mode --ssl-ca --ssl-cert --ssl-key
		      --ssl-key-passphrase-stdin --read-only --statement-timeout --password-stdin
		      --no-password --ssh --ssh-key --ssh-agent --ssh-password-stdin --ssh-passphrase-stdin'
		# a URI, or the name of a saved connection
		[[ $(_tuskctl_operands $((cmd_at + 1))) -eq 0 ]] && names=_tuskctl_saved
		;;
	connections)
		case $sub in
		add)
			opts="$settings $secrets"
			;;
		edit)
			opts="$settings $secrets --no-ssh --no-ssl-ca --no-client-cert --read-write
			      --no-statement-timeout"
			;;
		test)
			opts='--password-stdin --no-password'
			;;
		esac
		case $sub in
		show | edit | rm | test)
			[[ $(_tuskctl_operands $((cmd_at + 2))) -eq 0 ]] && names=_tuskctl_saved
			;;
		esac
		;;
	prefs)
		case $sub in
		get | set)
			[[ $sub == set && $cword -eq $((cmd_at + 2)) ]] && opts='--string'
			[[ $(_tuskctl_operands $((cmd_at + 2))) -eq 0 ]] && names=_tuskctl_pref_keys
			;;
		esac
		;;
	disconnect | kill)
		[[ $cword -eq $((cmd_at + 1)) ]] && names=_tuskctl_conns
		;;
	query)
		opts='--connection --format --max-rows --timeout --query-id --null --no-header'
		;;
	export)
		opts='--connection --format --output --no-header --delimiter --null --quote --table --query-id'
		;;
	import)
		opts='--connection --table --format --no-header --delimiter --null --quote --columns --query-id'
		;;
	cancel)
		[[ $cword -eq $((cmd_at + 1)) ]] && names=_tuskctl_queries
		;;
	running)
		opts='--connection'
		;;
	schema)
		opts='--connection --kind --system --refresh'
		;;
	describe)
		opts='--connection --kind --ddl'
		;;
	history)
		opts='--connection --limit --status'
		;;
	saved)
		case $sub in
		add | save)
			opts='--description --folder --connection'
			;;
		run)
			opts='--connection --format'
			;;
		esac
		case $sub in
		show | rm | run)
			[[ $cword -eq $((cmd_at + 2)) ]] && names=_tuskctl_saved_queries
			;;
		esac
		;;
	table)
		opts='--connection --order --filter --limit --all --format'
		;;
	activity)
		opts='--connection --watch --interval --all'
		;;
	backend)
		opts='--connection'
		;;
	workers)
		opts='--all'
		;;
	top)
		opts='--sort --interval'
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
	elif [[ $cmd == import ]]; then
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
	elif [[ -n $names ]]; then
		mapfile -t COMPREPLY < <("$names" "$ctl" | _tuskctl_match "$cur")
	else
		COMPREPLY=($(compgen -W "$args" -- "$cur"))
	fi
	return 0
}
complete -F _tuskctl tuskctl
