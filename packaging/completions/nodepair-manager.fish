# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_nodepair_manager_global_optspecs
    string join \n config= v/verbose h/help V/version
end

function __fish_nodepair_manager_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_nodepair_manager_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_nodepair_manager_using_subcommand
    set -l cmd (__fish_nodepair_manager_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -s V -l version -d 'Print version'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "run" -d 'Run the daemon: stay connected to every paired app'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "pair" -d 'Pair with the app showing a code'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "peers" -d 'List the paired apps'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "revoke" -d 'Unpair an app'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "grant" -d 'Change what a paired app may use'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "rotate-key" -d 'Move every paired app to a new static key, without pairing again'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "status" -d 'Identity, keystore, network and paired apps'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "config" -d 'Check the configuration and print it as the manager will use it'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "alerts" -d 'The alerts the manager\'s rules raised: open ones, or all (--all)'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "keystore" -d 'Where the identity and paired apps are kept: init, status, migrate, passphrase'
complete -c nodepair-manager -n "__fish_nodepair_manager_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand run" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand run" -l json -d 'Print the readiness line as JSON'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand run" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand run" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand pair" -l network-timeout -d 'Seconds to wait for a first Waku peer before giving up (exit 69)' -r
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand pair" -l grant -d 'Grant the app only these of the configured capabilities (e.g. `host,logs`; `info` goes with any grant). Without it the app may use everything `capabilities` in the configuration lists. Change it later with `nodepair-manager grant`' -r
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand pair" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand pair" -l json -d 'One JSON object per line instead of text'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand pair" -s y -l yes -d 'Confirm the verification string without asking (scripts). Without a terminal and without `--yes`, the answer is read as a line from standard input: `yes` or `no`'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand pair" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand pair" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand peers" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand peers" -l json -d 'JSON instead of a table'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand peers" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand peers" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand revoke" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand revoke" -l json -d 'JSON instead of text'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand revoke" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand revoke" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand grant" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand grant" -l all -d 'Everything the configuration\'s `capabilities` lists'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand grant" -l none -d 'Nothing but `manager.info` (who the manager is)'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand grant" -l json -d 'JSON instead of text'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand grant" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand grant" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand rotate-key" -l wait -d 'Seconds to report apps moving before returning, sooner once all have (the rotation goes on)' -r
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand rotate-key" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand rotate-key" -l json -d 'One JSON object per line instead of text'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand rotate-key" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand rotate-key" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand status" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand status" -l json -d 'JSON instead of text'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand status" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand status" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand config" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand config" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand config" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand alerts" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand alerts" -l all -d 'Resolved alerts too (all the log holds)'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand alerts" -l json -d 'JSON instead of text'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand alerts" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand alerts" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and not __fish_seen_subcommand_from init status migrate passphrase help" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and not __fish_seen_subcommand_from init status migrate passphrase help" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and not __fish_seen_subcommand_from init status migrate passphrase help" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and not __fish_seen_subcommand_from init status migrate passphrase help" -f -a "init" -d 'Create the keystore and this manager\'s identity, if not there yet, and say where they are'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and not __fish_seen_subcommand_from init status migrate passphrase help" -f -a "status" -d 'Show which backend holds the keys and why, and what it holds'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and not __fish_seen_subcommand_from init status migrate passphrase help" -f -a "migrate" -d 'Move every key to another backend; nothing is deleted from the old one until the new one holds it all'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and not __fish_seen_subcommand_from init status migrate passphrase help" -f -a "passphrase" -d 'Re-encrypt the vault under a new passphrase'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and not __fish_seen_subcommand_from init status migrate passphrase help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from init" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from init" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from status" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from migrate" -l to -d 'Where to move the keys to' -r -f -a "keyring\t'The OS keyring (Secret Service)'
vault\t'The encrypted file vault'"
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from migrate" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from migrate" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from passphrase" -l new-passphrase-file -d 'Read the new passphrase from this file (mode 0600) instead of asking on the terminal' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from passphrase" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml, then /etc/nodepair/manager.toml, then built-in defaults]' -r -F
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from passphrase" -s v -l verbose -d 'More log output on stderr (-v, -vv); RUST_LOG overrides it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from passphrase" -s h -l help -d 'Print help'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from help" -f -a "init" -d 'Create the keystore and this manager\'s identity, if not there yet, and say where they are'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show which backend holds the keys and why, and what it holds'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Move every key to another backend; nothing is deleted from the old one until the new one holds it all'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from help" -f -a "passphrase" -d 'Re-encrypt the vault under a new passphrase'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand keystore; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "run" -d 'Run the daemon: stay connected to every paired app'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "pair" -d 'Pair with the app showing a code'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "peers" -d 'List the paired apps'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "revoke" -d 'Unpair an app'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "grant" -d 'Change what a paired app may use'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "rotate-key" -d 'Move every paired app to a new static key, without pairing again'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "status" -d 'Identity, keystore, network and paired apps'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "config" -d 'Check the configuration and print it as the manager will use it'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "alerts" -d 'The alerts the manager\'s rules raised: open ones, or all (--all)'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "keystore" -d 'Where the identity and paired apps are kept: init, status, migrate, passphrase'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and not __fish_seen_subcommand_from run pair peers revoke grant rotate-key status config alerts keystore help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and __fish_seen_subcommand_from keystore" -f -a "init" -d 'Create the keystore and this manager\'s identity, if not there yet, and say where they are'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and __fish_seen_subcommand_from keystore" -f -a "status" -d 'Show which backend holds the keys and why, and what it holds'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and __fish_seen_subcommand_from keystore" -f -a "migrate" -d 'Move every key to another backend; nothing is deleted from the old one until the new one holds it all'
complete -c nodepair-manager -n "__fish_nodepair_manager_using_subcommand help; and __fish_seen_subcommand_from keystore" -f -a "passphrase" -d 'Re-encrypt the vault under a new passphrase'
