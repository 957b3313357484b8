"""archdsl: a language for convolutional network architectures, compiled to an exact cost
analysis, PyTorch modules, diagrams and design-rule searches."""
from .errors import ArchError
from .network import Network, load

__all__ = ["ArchError", "Network", "load"]
__version__ = "0.1.0"
