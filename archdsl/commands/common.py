"""What several commands share: loading the network a command line names."""
from __future__ import annotations

from ..network import Network, load


def load_network(args) -> Network:
    """FILE [--network N] [--input C,H,W] as a Network."""
    return load(args.file, network=args.network, input_shape=getattr(args, "input", None),
                max_nodes=getattr(args, "max_nodes", None))
