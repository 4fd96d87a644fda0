# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_nodepair_relay_global_optspecs
    string join \n listen= cluster= shard= peer= key-file= json store= no-store store-max-messages= store-max-age-hours= store-max-mib= discv5-port= discv5-bootstrap= enrtree= dns-server= advertise-ip= target-peers= allow-private-peers max-connections= max-connections-per-peer= store-queries-per-sec= h/help V/version
end

function __fish_nodepair_relay_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_nodepair_relay_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_nodepair_relay_using_subcommand
    set -l cmd (__fish_nodepair_relay_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l listen -d 'Address to listen on; repeat for several' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l cluster -d 'Waku cluster id (static sharding)' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l shard -d 'Shard to relay within the cluster; repeat for several' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l peer -d 'Peer to connect to and stay connected with; repeat for several' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l key-file -d 'File holding the node key, so the peer id survives restarts; made (mode 0600) if missing. Without it, a new identity each start' -r -F
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l store -d 'SQLite file to keep relayed messages in for store queries (kept in memory without it)' -r -F
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l store-max-messages -d 'Most messages the store keeps; the oldest go first' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l store-max-age-hours -d 'Hours a stored message is kept' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l store-max-mib -d 'Most MiB of messages the store keeps; the oldest go first. Kept in memory, the store takes about three times this' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l discv5-port -d 'Run discv5 on this UDP port (all interfaces), to find and be found by other Waku nodes' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l discv5-bootstrap -d 'A node record (`enr:…`) discv5 starts from; repeat for several' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l enrtree -d 'An `enrtree://<key>@<domain>` list of nodes to dial (EIP-1459 DNS discovery); repeat for several' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l dns-server -d 'The DNS server to read ENR trees from [default: the system\'s]' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l advertise-ip -d 'The public IPv4 address to put in the node record when listening on 0.0.0.0' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l target-peers -d 'Discovered peers to stay connected with' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l max-connections -d 'Most connections the relay keeps established, in and out' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l max-connections-per-peer -d 'Most connections one peer may hold at once' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l store-queries-per-sec -d 'Store queries one peer may make a second (bursts of five times that)' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l json -d 'Print the status line as JSON (peer id, addresses, cluster, shards)'
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l no-store -d 'Keep nothing and answer no store queries'
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -l allow-private-peers -d 'Let discovered records make the relay dial loopback, link-local or private addresses (a network on one machine or LAN)'
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -s h -l help -d 'Print help'
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -s V -l version -d 'Print version'
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -f -a "enrtree" -d 'Print a signed EIP-1459 ENR tree of relays as DNS zone lines, to publish under your domain for `enrtree` discovery'
complete -c nodepair-relay -n "__fish_nodepair_relay_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nodepair-relay -n "__fish_nodepair_relay_using_subcommand enrtree" -l domain -d 'The domain the tree is published under' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_using_subcommand enrtree" -l key-file -d 'File holding the tree\'s signing key (secp256k1, made with mode 0600 if missing); keep it: the link names its public key' -r -F
complete -c nodepair-relay -n "__fish_nodepair_relay_using_subcommand enrtree" -l seq -d 'The tree\'s sequence number; raise it at every change' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_using_subcommand enrtree" -l ttl -d 'Time to live of the TXT records, in seconds' -r
complete -c nodepair-relay -n "__fish_nodepair_relay_using_subcommand enrtree" -s h -l help -d 'Print help'
complete -c nodepair-relay -n "__fish_nodepair_relay_using_subcommand help; and not __fish_seen_subcommand_from enrtree help" -f -a "enrtree" -d 'Print a signed EIP-1459 ENR tree of relays as DNS zone lines, to publish under your domain for `enrtree` discovery'
complete -c nodepair-relay -n "__fish_nodepair_relay_using_subcommand help; and not __fish_seen_subcommand_from enrtree help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
