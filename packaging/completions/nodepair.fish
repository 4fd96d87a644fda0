# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_nodepair_global_optspecs
    string join \n config= hidden h/help V/version
end

function __fish_nodepair_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_nodepair_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_nodepair_using_subcommand
    set -l cmd (__fish_nodepair_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c nodepair -n "__fish_nodepair_needs_command" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_needs_command" -l hidden -d 'Start in the tray without showing the window (what starting at login does); shown anyway where there is no tray'
complete -c nodepair -n "__fish_nodepair_needs_command" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_needs_command" -s V -l version -d 'Print version'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "pair" -d 'Show a pairing code (and its QR code), wait for a manager to answer it, ask whether the server shows the same verification string, and exit 0 once paired'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "join" -d 'Add this computer to the managers of one already paired: show an introduction code to type there (`nodepair add-computer`), compare the verification string, and exit 0 once the managers that allow it were handed over and stored'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "add-computer" -d 'Add another computer of yours: answer the code `nodepair join` shows there, compare the verification string, and introduce that computer to every paired manager whose operator allows introductions (it gets at most this app\'s grant). Says, per manager, whether it was introduced, refused or not reachable'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "cut-off" -d 'Cut off a lost or stolen computer of yours (its name, key or fingerprint) from every manager where it was introduced by, or introduced, one of your computers: each manager online unpairs it at once and its sessions end; one not reachable now is told the next time this app connects to it. Exit 67 if no manager knows it'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "managers" -d 'List the paired managers'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "unpair" -d 'Unpair a manager (by name, or the start of its node id or key)'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "rotate-key" -d 'Make a new static key and move every paired manager to it, without pairing again: each is told over its session, with proof that this app holds the new key; one offline now is told when it next connects. The old key is retired once every manager has moved, or after 14 days (one not moved by then must be paired again)'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "status" -d 'This app\'s identity, keystore and Waku network (preset, mode, peers, service nodes), and its managers'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "alerts" -d 'The alerts the managers reported: those open (worst first), or all kept. From the running app, else as it last saw them. Acknowledge one with `nodepair ask <manager> alerts.ack \'{"id": N}\'`, mute it with `alerts.mute \'{"id": N, "for_secs": 3600}\'`'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "ask" -d 'Ask a manager one of its methods and print the answer as JSON (exit 0 when it answered, else a code saying why: 64 unknown method, 65 bad request, 67 no such manager, 69 unreachable, 75 try again, 77 not allowed there)'
complete -c nodepair -n "__fish_nodepair_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nodepair -n "__fish_nodepair_using_subcommand pair" -l network-timeout -d 'Seconds to wait for a first Waku peer before giving up (exit 69)' -r
complete -c nodepair -n "__fish_nodepair_using_subcommand pair" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_using_subcommand pair" -l json -d 'One JSON object per line instead of text'
complete -c nodepair -n "__fish_nodepair_using_subcommand pair" -s y -l yes -d 'Confirm the verification string without asking (scripts). Without a terminal and without `--yes`, the answer is read as a line from standard input: `yes` or `no`'
complete -c nodepair -n "__fish_nodepair_using_subcommand pair" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_using_subcommand join" -l network-timeout -d 'Seconds to wait for a first Waku peer before giving up (exit 69)' -r
complete -c nodepair -n "__fish_nodepair_using_subcommand join" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_using_subcommand join" -l json -d 'One JSON object per line instead of text'
complete -c nodepair -n "__fish_nodepair_using_subcommand join" -s y -l yes -d 'Confirm the verification string without asking (scripts)'
complete -c nodepair -n "__fish_nodepair_using_subcommand join" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_using_subcommand add-computer" -l network-timeout -d 'Seconds to wait for a first Waku peer before giving up (exit 69)' -r
complete -c nodepair -n "__fish_nodepair_using_subcommand add-computer" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_using_subcommand add-computer" -l json -d 'One JSON object per line instead of text'
complete -c nodepair -n "__fish_nodepair_using_subcommand add-computer" -s y -l yes -d 'Confirm the verification string without asking (scripts)'
complete -c nodepair -n "__fish_nodepair_using_subcommand add-computer" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_using_subcommand cut-off" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_using_subcommand cut-off" -l json -d 'JSON instead of text'
complete -c nodepair -n "__fish_nodepair_using_subcommand cut-off" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_using_subcommand managers" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_using_subcommand managers" -l json -d 'JSON instead of a table'
complete -c nodepair -n "__fish_nodepair_using_subcommand managers" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_using_subcommand unpair" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_using_subcommand unpair" -l json -d 'JSON instead of text'
complete -c nodepair -n "__fish_nodepair_using_subcommand unpair" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_using_subcommand rotate-key" -l wait -d 'Seconds to report managers moving before returning (the rotation goes on while the app runs)' -r
complete -c nodepair -n "__fish_nodepair_using_subcommand rotate-key" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_using_subcommand rotate-key" -l json -d 'One JSON object per line instead of text'
complete -c nodepair -n "__fish_nodepair_using_subcommand rotate-key" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_using_subcommand status" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_using_subcommand status" -l json -d 'JSON instead of text'
complete -c nodepair -n "__fish_nodepair_using_subcommand status" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_using_subcommand alerts" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_using_subcommand alerts" -l all -d 'Resolved alerts too'
complete -c nodepair -n "__fish_nodepair_using_subcommand alerts" -l json -d 'JSON instead of text'
complete -c nodepair -n "__fish_nodepair_using_subcommand alerts" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_using_subcommand ask" -l timeout -d 'Seconds to wait for the manager to come online' -r
complete -c nodepair -n "__fish_nodepair_using_subcommand ask" -l config -d 'Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]' -r -F
complete -c nodepair -n "__fish_nodepair_using_subcommand ask" -s h -l help -d 'Print help'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "pair" -d 'Show a pairing code (and its QR code), wait for a manager to answer it, ask whether the server shows the same verification string, and exit 0 once paired'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "join" -d 'Add this computer to the managers of one already paired: show an introduction code to type there (`nodepair add-computer`), compare the verification string, and exit 0 once the managers that allow it were handed over and stored'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "add-computer" -d 'Add another computer of yours: answer the code `nodepair join` shows there, compare the verification string, and introduce that computer to every paired manager whose operator allows introductions (it gets at most this app\'s grant). Says, per manager, whether it was introduced, refused or not reachable'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "cut-off" -d 'Cut off a lost or stolen computer of yours (its name, key or fingerprint) from every manager where it was introduced by, or introduced, one of your computers: each manager online unpairs it at once and its sessions end; one not reachable now is told the next time this app connects to it. Exit 67 if no manager knows it'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "managers" -d 'List the paired managers'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "unpair" -d 'Unpair a manager (by name, or the start of its node id or key)'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "rotate-key" -d 'Make a new static key and move every paired manager to it, without pairing again: each is told over its session, with proof that this app holds the new key; one offline now is told when it next connects. The old key is retired once every manager has moved, or after 14 days (one not moved by then must be paired again)'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "status" -d 'This app\'s identity, keystore and Waku network (preset, mode, peers, service nodes), and its managers'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "alerts" -d 'The alerts the managers reported: those open (worst first), or all kept. From the running app, else as it last saw them. Acknowledge one with `nodepair ask <manager> alerts.ack \'{"id": N}\'`, mute it with `alerts.mute \'{"id": N, "for_secs": 3600}\'`'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "ask" -d 'Ask a manager one of its methods and print the answer as JSON (exit 0 when it answered, else a code saying why: 64 unknown method, 65 bad request, 67 no such manager, 69 unreachable, 75 try again, 77 not allowed there)'
complete -c nodepair -n "__fish_nodepair_using_subcommand help; and not __fish_seen_subcommand_from pair join add-computer cut-off managers unpair rotate-key status alerts ask help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
