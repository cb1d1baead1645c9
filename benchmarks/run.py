"""``python -m benchmarks.run [OPTIONS]`` from a checkout: the same as ``chainrule bench``."""

import sys

from chainrule.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
